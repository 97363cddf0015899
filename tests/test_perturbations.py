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


def test_contradicting_sentences_lose_their_citation_and_copies_keep_it(
    tmp_path: Path, embedder: object
) -> None:
    result = run("trained", tmp_path)
    kinds = result["by_kind"]
    assert isinstance(kinds, dict)
    assert kinds["copy"] == "42/42", result  # a word-for-word copy is always shown
    # The safety promise: at most 2% of the 131 claims the source does not state are shown.
    assert result["unfaithful_shown"] <= 0.02, result
    assert result["faithful_kept"] >= 0.5, result
