"""The cascade's band (``training/choose_band.py``): the trained judge's support scores it
leaves to the LLM are chosen so the cascade shows no more unfaithful claims than the LLM
alone, while the LLM is asked as little as possible."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))

from choose_band import cascade, choose


def test_the_band_covers_the_trained_judges_mistakes_and_no_more() -> None:
    # (held out, faithful, trained score, the LLM shows it, shown by the trained judge alone)
    claims = [
        (False, True, 0.99, True, True),  # faithful, trained sure and right
        (False, True, 0.95, True, True),
        (False, True, 0.50, True, False),  # faithful, the trained judge doubts it
        (False, False, 0.97, False, True),  # unfaithful, the trained judge sure and wrong
        (False, False, 0.05, False, False),  # unfaithful, trained sure and right
        (False, True, None, True, True),  # a copy: no judge asked
    ]
    low, high = choose(claims, entailed=0.9)
    kept, shown, to_llm, judged = cascade(claims, low, high)
    assert (kept, shown) == (1.0, 0.0)  # as strict as the LLM alone, and as generous
    assert (to_llm, judged) == (3, 5)  # the sure and right ones stay with the trained judge
