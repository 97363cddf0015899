"""``make run`` as a newcomer runs it: the Makefile's own recipe, with the chat replaced by an
echo (``SERVE``) and the set-up step taken as done (``-o``), on a private corpus and index."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
VENV = Path(sys.executable).parent.parent  # the one running the tests has askdef installed
CHAT = "the-chat-starts"

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="no make")


def _make_run(
    *variables: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "make",
            "-s",
            "-o",
            f"{VENV}/.installed",
            "run",
            f"VENV={VENV}",
            f"SERVE=echo {CHAT}",
            *variables,
        ],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def small_corpus(tmp_path: Path) -> Path:
    """One short document (embedding it is quick) and a file askdef does not read."""
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "note.md").write_text(
        "# Budget\n\nThe 2024 travel budget is 12,000 euros, approved in March.\n"
    )
    (corpus / "budget.xlsx").write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    return corpus


def test_run_starts_the_chat_despite_a_skipped_file_and_rebuilds_a_stale_index(
    small_corpus: Path, tmp_path: Path
) -> None:
    folders = (f"CORPUS={small_corpus}", f"INDEX={tmp_path / 'index'}")
    first = _make_run(*folders, env={"ASKDEF_CHUNK_SIZE": "64"})
    assert first.returncode == 0, first.stderr
    assert "skipped budget.xlsx" in first.stderr
    assert first.stdout.count("added 1") == 1  # indexed once, not rebuilt after the skip
    assert first.stdout.rstrip().endswith(CHAT)
    # built with another chunk size than the default: `askdef index` exits 4, make rebuilds
    second = _make_run(*folders)
    assert second.returncode == 0, second.stderr
    assert "The index was built with other settings" in second.stderr
    assert "added 1" in second.stdout and "skipped budget.xlsx" in second.stderr
    assert second.stdout.rstrip().endswith(CHAT)


def test_run_stops_before_the_chat_when_indexing_fails(tmp_path: Path) -> None:
    result = _make_run(f"CORPUS={tmp_path / 'missing'}", f"INDEX={tmp_path / 'index'}")
    assert result.returncode != 0
    assert "does not exist" in result.stderr and CHAT not in result.stdout


def test_a_corpus_folder_gets_an_index_folder_named_after_it() -> None:
    dry = subprocess.run(
        ["make", "-n", "-o", f"{VENV}/.installed", "run", f"VENV={VENV}", "CORPUS=~/docs/"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert dry.returncode == 0, dry.stderr
    assert "--corpus ~/docs/ --index index-docs serve" in dry.stdout


def test_the_readme_quickstart_is_two_commands_and_says_how_to_name_a_folder() -> None:
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    quickstart = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    block = quickstart.split("```bash\n", 1)[1].split("```", 1)[0]
    assert [line.split("#")[0].strip() for line in block.splitlines()] == ["make run", "make test"]
    assert "make run CORPUS=~/docs" in quickstart and "index-docs/" in quickstart
    assert "Chromium with apt" in quickstart
