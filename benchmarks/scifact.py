"""SciFact: does askdef's citation verifier accept claims their evidence supports, and reject
the ones it contradicts or does not settle?

Usage (from the project root, after ``make setup``)::

    .venv/bin/python benchmarks/scifact.py [--data DIR] [--judge local|openai|none]
        [--limit N] [--out results.json]

Each claim of ``questions.jsonl`` is checked against each abstract in its ``relevant_ids``, as
an answer sentence ``claim [1]`` citing that abstract as its one retrieved passage, through
``askdef.answer.citations.verify`` with the settings' threshold: accepted when the citation is kept.
Gold per pair: the abstract's evidence label, NOT_ENOUGH_INFO when it has none (138 SUPPORT,
71 CONTRADICT, 130 NOT_ENOUGH_INFO pairs). The judge's probability of every judged pair is
kept, so the share accepted per label is also given over a range of thresholds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from askdef.answer.citations import Entailment, verify
from askdef.answer.entailment import Judge
from askdef.answer.generation import make_judge
from askdef.settings import Settings
from askdef.types import Passage

LABELS = ("SUPPORT", "CONTRADICT", "NOT_ENOUGH_INFO")
THRESHOLDS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


class Recording:
    """A judge that remembers the last probability it gave."""

    def __init__(self, judge: Judge) -> None:
        self.name = judge.name
        self._judge = judge
        self.last: float | None = None

    def entailment(self, premise: str, claim: str) -> float:
        self.last = self._judge.entailment(premise, claim)
        return self.last


def pairs(data: Path) -> list[tuple[str, str, str]]:
    """(claim, abstract, gold label) for every claim and abstract it cites."""
    abstracts = {}
    with open(data / "corpus.jsonl", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            abstracts[row["id"]] = row["text"]
    out = []
    with open(data / "questions.jsonl", encoding="utf-8") as f:
        for line in f:
            q = json.loads(line)
            labels = {e["doc_id"]: e["label"] for e in q["evidence"]}
            for doc in q["relevant_ids"]:
                if doc in abstracts:
                    out.append((q["question"], abstracts[doc], labels.get(doc, "NOT_ENOUGH_INFO")))
    return out


def run(data: Path, judge_name: str, limit: int | None) -> dict[str, Any]:
    settings = Settings()
    judge = make_judge(settings, "local", choice=judge_name)
    recording = Recording(judge) if judge else None
    rows = []
    started = time.perf_counter()
    for i, (claim, abstract, gold) in enumerate(pairs(data)[:limit]):
        passage = Passage(doc_id="abstract", paragraph=1, text=abstract, score=1.0, start=0, end=1)
        if recording:
            recording.last = None
        t0 = time.perf_counter()
        entail = Entailment(recording, settings.entailment_threshold)
        verified = verify(f"{claim} [1]", [passage], entail)
        rows.append(
            {
                "gold": gold,
                "accepted": bool(verified.citations),
                "p": recording.last if recording else None,
                "seconds": time.perf_counter() - t0,
            }
        )
        if i % 25 == 0:
            print(f"{i} pairs, {time.perf_counter() - started:.0f} s", flush=True)
    return {"judge": judge_name, "threshold": settings.entailment_threshold, "rows": rows}


def summary(result: dict[str, Any]) -> str:
    rows = result["rows"]
    by = {label: [r for r in rows if r["gold"] == label] for label in LABELS}
    lines = [
        f"judge: {result['judge']}, threshold {result['threshold']}, {len(rows)} pairs",
        "",
        "| label | pairs | accepted | judged |",
        "|---|---:|---:|---:|",
    ]
    for label, group in by.items():
        accepted = sum(r["accepted"] for r in group) / len(group) if group else 0.0
        judged = sum(r["p"] is not None for r in group)
        lines.append(f"| {label} | {len(group)} | {accepted:.3f} | {judged} |")
    lines += ["", "| threshold | " + " | ".join(LABELS) + " |", "|---|---:|---:|---:|"]
    for t in THRESHOLDS:
        shares = []
        for group in by.values():
            kept = sum(
                (r["p"] is not None and r["p"] >= t) or (r["p"] is None and r["accepted"])
                for r in group
            )
            shares.append(f"{kept / len(group):.3f}" if group else "-")
        lines.append(f"| {t} | " + " | ".join(shares) + " |")
    judged = [r["seconds"] for r in rows if r["p"] is not None]
    if len(judged) > 1:
        q = statistics.quantiles(judged, n=20)
        lines += [
            "",
            f"seconds per judged pair: p50 {statistics.median(judged):.2f}, p95 {q[-1]:.2f}",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/bench-data/scifact"))
    parser.add_argument("--judge", default="local", choices=["local", "openai", "none"])
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    result = run(args.data, args.judge, args.limit)
    if args.out:
        args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(summary(result))


if __name__ == "__main__":
    main()
