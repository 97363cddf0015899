"""The public surface is exactly ``askdef.__all__``; importing it loads no model library."""

import subprocess
import sys

import askdef


def test_all_is_sorted_and_resolves() -> None:
    assert askdef.__all__ == sorted(askdef.__all__)
    for name in askdef.__all__:
        assert getattr(askdef, name) is not None


def test_import_does_not_load_model_libraries() -> None:
    code = (
        "import sys, askdef, askdef.cli; "
        "print(sorted(m for m in ('torch','transformers','chromadb','llama_index','gradio') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
