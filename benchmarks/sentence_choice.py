"""Which sentence answers: the hand-weighted relevance score against the trained judge (#32).

Usage (from the project root, after ``make setup``)::

    .venv/bin/python benchmarks/sentence_choice.py QUESTIONS.jsonl [--corpus DIR --index DIR]
        [--lines all|even|odd]

The extractive generator answers with the best sentences of the passages it reads, and an LLM
reads only the best sentences of its passages (``askdef.answer.relevance``: half embedding
cosine, half the question's weighted words in the sentence and its paragraph). Should the
trained judge's P(these words answer the question) choose them instead? For each answerable
question, the passages the extractive generator reads (``search``, its first four) have every
sentence ranked three ways:

- ``relevance``: the shipped score;
- ``judge``: the trained judge's ``answers(sentence, question)`` alone;
- ``relevance, then judge``: relevance's best five re-ordered by the judge.

A sentence is right when it holds a gold answer (``answers``) or the gold ``quote``. Printed:
the share of questions whose first sentence is right (hit@1), whose first three hold a right
one (hit@3), and the judge's cost per question.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measured import commit

RERANKED = 5


def _right(sentence: str, row: dict[str, Any]) -> bool:
    """Whether ``sentence`` holds a gold answer, or the gold quote (or lies within it), as
    ``askdef eval`` matches answers (normalised, whole words)."""
    from askdef.eval.metrics import answer_coverage, normalize_answer

    said, quote = normalize_answer(sentence), normalize_answer(row.get("quote", ""))
    if quote and (quote in said or said in quote):
        return True
    return bool(answer_coverage(sentence, row.get("answers", [])))


def _hits(order: list[str], row: dict[str, Any]) -> tuple[bool, bool]:
    return bool(order) and _right(order[0], row), any(_right(s, row) for s in order[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", type=Path)
    parser.add_argument("--corpus", type=Path, default=None)
    parser.add_argument("--index", type=Path, default=None)
    parser.add_argument("--lines", choices=("all", "even", "odd"), default="all")
    args = parser.parse_args()

    from askdef import AskDef, Settings
    from askdef.answer.relevance import score_sentences
    from askdef.answer.trained_judge import TrainedJudge

    rows = [json.loads(line) for line in args.questions.read_text().splitlines() if line.strip()]
    if args.lines != "all":
        rows = rows[(1 if args.lines == "even" else 0) :: 2]
    rows = [r for r in rows if r.get("answerable", True)]
    overrides = {"corpus_dir": args.corpus, "index_dir": args.index}
    settings = Settings(
        generator="extractive", **{k: v for k, v in overrides.items() if v is not None}
    )
    bot = AskDef(settings=settings)
    bot.ingest()
    scorer = bot.generator._scorer  # the scorer the extractive generator answers with
    judge = TrainedJudge()
    ways = ("relevance", "judge", "relevance, then judge")
    hits: dict[str, list[tuple[bool, bool]]] = {w: [] for w in ways}
    costs: list[float] = []
    for row in rows:
        passages = bot.search(row["question"])[:4]
        scored = [s.text for s in score_sentences(scorer, row["question"], passages)]
        started = time.perf_counter()
        p = judge.scores([(s, row["question"]) for s in scored]) if scored else []
        costs.append(time.perf_counter() - started)
        by_judge = [s for _, s in sorted(zip(p, scored, strict=True), key=lambda x: -x[0])]
        top = dict(zip(scored, p, strict=True))
        head = sorted(scored[:RERANKED], key=lambda s: -top[s])
        for way, order in zip(ways, (scored, by_judge, head + scored[RERANKED:]), strict=True):
            hits[way].append(_hits(order, row))
    print(f"{args.questions} ({args.lines}), {len(rows)} answerable questions, {judge.name}")
    print("| way | hit@1 | hit@3 |\n|---|---:|---:|")
    for way in ways:
        h = hits[way]
        print(
            f"| {way} | {sum(a for a, _ in h) / len(h):.3f} | {sum(b for _, b in h) / len(h):.3f} |"
        )
    print(f"judge: {statistics.median(costs) * 1000:.0f} ms per question p50 ({commit()})")


if __name__ == "__main__":
    main()
