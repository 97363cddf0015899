"""The perturbation suite's contract, through the real pipeline and askdef's trained judge: a
scripted OpenAI-compatible server writes each claim of ``tests/data/perturbations.json`` (a
copy, shortening or paraphrase of its source sentence, or one of ten ways of saying something
the source does not), and askdef shows it or not. The suite's figures for every judge are
measured by ``benchmarks/perturbations.py`` (benchmarks/README.md); this test holds the
promise a user relies on."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from perturbations import run


def test_a_sentence_is_shown_only_with_its_source_or_removed_with_a_notice(
    tmp_path: Path, embedder: object
) -> None:
    result = run("trained", tmp_path)
    assert result["silently_removed"] == [], result  # every removal is told to the user
    shown = result["by_kind"]
    assert isinstance(shown, dict)
    # each kind the source does not state: at most one claim in four is shown (the judge's
    # figures, and the LLM's beside them, are in benchmarks/README.md)
    for kind in ("negation", "only", "added_date", "added_cause", "wrong_entity", "added_actor"):
        kept, total = map(int, shown[kind].split("/"))
        assert kept * 4 <= total, (kind, result)
