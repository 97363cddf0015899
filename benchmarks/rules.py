"""Each hand-written answer rule on and off, with the judge that verifies answers held fixed.

Usage (from the project root, after ``make setup``)::

    .venv/bin/python benchmarks/rules.py QUESTIONS.jsonl [--generator extractive|local]
        [--corpus DIR --index DIR] [--rules all|NAME,...] [--out F.json]

For the base run and for each rule switched off alone, ``askdef eval`` runs the question set
(precision not judged) and the aggregate figures are printed side by side. Rules:

- ``unmentioned``: a question naming what the corpus never mentions is refused before any
  generator (``askdef.answer.relevance.unmentioned``);
- ``question_type``: a sentence without a time or a number does not answer "when" or "how
  many" (``askdef.answer.question_type.fits_question_type``, in the extractive choice and the
  sentence scores);
- ``AddMissedSentence``, ``RescueExtractively``, ``ContinueLeadIn``: the steps after an LLM's
  draft (``askdef.answer.pipeline.STEPS``; they do nothing for the extractive generator).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measured import commit

STEP_RULES = ("AddMissedSentence", "RescueExtractively", "ContinueLeadIn")
RULES = ("unmentioned", "question_type", *STEP_RULES)
SHOWN = ("answer_coverage", "citation_recall", "refusal_accuracy", "false_refusal_rate", "f1")


@contextlib.contextmanager
def without(rule: str | None) -> Iterator[None]:
    """The pipeline with ``rule`` switched off (None: as shipped)."""
    import pytest

    from askdef.answer import extractive, pipeline, relevance

    with pytest.MonkeyPatch.context() as mp:
        if rule == "unmentioned":
            mp.setattr(pipeline, "unmentioned", lambda query, vocabulary: [])
        elif rule == "question_type":
            mp.setattr(extractive, "fits_question_type", lambda question, sentence: True)
            mp.setattr(relevance, "fits_question_type", lambda question, sentence: True)
        elif rule in STEP_RULES:
            mp.setattr(
                pipeline, "STEPS", tuple(s for s in pipeline.STEPS if type(s).__name__ != rule)
            )
        yield


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", type=Path)
    parser.add_argument("--generator", default="extractive")
    parser.add_argument("--corpus", type=Path, default=Path("corpus"))
    parser.add_argument("--index", type=Path, default=Path("index"))
    parser.add_argument("--rules", default="all")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    from askdef import AskDef, Settings

    bot = AskDef(
        settings=Settings(corpus_dir=args.corpus, index_dir=args.index, generator=args.generator)
    )
    bot.ingest()
    chosen = RULES if args.rules == "all" else tuple(args.rules.split(","))
    results: dict[str, Any] = {"commit": commit(), "judge": bot.judge.name if bot.judge else "none"}
    print(f"| rule off | {' | '.join(SHOWN)} | p50 s |\n|---|{'---:|' * (len(SHOWN) + 1)}")
    for rule in (None, *chosen):
        with without(rule):
            report = bot.evaluate(args.questions, progress=False, grader="none")
        m = report.metrics
        results[rule or "none (as shipped)"] = m
        cells = " | ".join(f"{m.get(k, float('nan')):.3f}" for k in SHOWN)
        print(
            f"| {rule or 'none (as shipped)'} | {cells} | {m.get('latency_p50', 0):.2f} |",
            flush=True,
        )
    if args.out:
        args.out.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
