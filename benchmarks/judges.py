"""The trained judge against the packaged 1.5B LLM judge, on the same pairs in one run.

Usage (from the project root, after ``make setup``)::

    .venv/bin/python benchmarks/judges.py [--llm-sample N] [--out DIR]

Each pair goes through askdef's verifier (``askdef.answer.citations.verify``) as the answer
sentence ``claim [1]`` citing one passage, so what is measured is what a user would be shown:
a word-for-word copy passes without a judge, a claim sharing too few words with every span
never reaches one, the rest get the judge's probability. Sets:

- ``perturbations``: ``tests/data/perturbations.json`` (239 claims on 42 source sentences of
  the bundled corpus and two invented documents); gold: copy, shortening and paraphrase are
  faithful, the ten other kinds are not.
- ``scifact``: ``bench-data/scifact``, each claim against each abstract it cites; gold:
  SUPPORT against CONTRADICT (NOT_ENOUGH_INFO reported apart).
- ``fever``: ``judge-data/fever-symmetric/test.jsonl`` (evaluation only); gold: SUPPORTS
  against REFUTES.

The trained judge scores every pair; the LLM judge a seeded sample of ``--llm-sample`` pairs
per set (seconds a pair), and the trained judge's figures on that same sample are given beside
it. Writes ``judges.json``, ``judges.md`` and one ROC curve per set (``roc-<set>.svg``) to
``--out``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measured import commit

from askdef.answer.citations import Entailment, verify
from askdef.answer.entailment import LLM_ENTAILED, Judge
from askdef.answer.generation import make_judge
from askdef.answer.trained_judge import TrainedJudge, on_own_scale
from askdef.settings import Settings
from askdef.types import Passage

ROOT = Path(__file__).resolve().parents[1]
FAITHFUL = {"copy", "shortening", "paraphrase"}
# (premise text, claim, gold: True entailed / False not / None reported apart, kind)
Case = tuple[str, str, bool | None, str]


class Recording:
    """A judge that remembers the last probability it gave."""

    def __init__(self, judge: Judge) -> None:
        self.name, self.entailed, self.answered = judge.name, judge.entailed, judge.answered
        self._judge = judge
        self.last: float | None = None

    def entailment(self, premise: str, claim: str) -> float:
        self.last = self._judge.entailment(premise, claim)
        return self.last

    def answers(self, premise: str, question: str) -> float:
        return self._judge.answers(premise, question)


def perturbation_cases() -> list[Case]:
    data = ROOT / "tests" / "data"
    groups = json.loads((data / "perturbations.json").read_text(encoding="utf-8"))
    out = []
    for g in groups:
        folder = data if g["doc"].startswith("other_topic/") else ROOT / "corpus"
        text = (folder / g["doc"]).read_text(encoding="utf-8")
        paragraph = next((p for p in text.split("\n\n") if g["source"] in p), g["source"])
        out += [(paragraph, c["text"], c["kind"] in FAITHFUL, c["kind"]) for c in g["claims"]]
    return out


def scifact_cases(data: Path) -> list[Case]:
    abstracts = {}
    for line in (data / "corpus.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        abstracts[row["id"]] = row["text"]
    gold = {"SUPPORT": True, "CONTRADICT": False}
    out = []
    for line in (data / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        q = json.loads(line)
        labels = {e["doc_id"]: e["label"] for e in q["evidence"]}
        for doc in q["relevant_ids"]:
            if doc in abstracts:
                label = labels.get(doc, "NOT_ENOUGH_INFO")
                out.append((abstracts[doc], q["question"], gold.get(label), label))
    return out


def fever_cases(path: Path) -> list[Case]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [(r["premise"], r["hypothesis"], r["label"] == "entailment", r["label"]) for r in rows]


def judged(cases: list[Case], judge: Judge) -> list[dict[str, Any]]:
    """Each case through the verifier: shown or not at the judge's own threshold, and the
    score a curve can move (1 for a verbatim copy, 0 when no span was close enough to ask)."""
    recording = Recording(judge)
    rows = []
    for premise, claim, gold, kind in cases:
        passage = Passage(doc_id="doc", paragraph=1, text=premise, score=1.0, start=0, end=1)
        recording.last = None
        started = time.perf_counter()
        shown = bool(verify(f"{claim} [1]", [passage], Entailment(recording)).citations)
        seconds = time.perf_counter() - started
        p = recording.last
        score = p if p is not None else (1.0 if shown else 0.0)
        rows.append(
            {"gold": gold, "kind": kind, "shown": shown, "p": p, "score": score, "s": seconds}
        )
    return rows


def cascade(
    first: list[dict[str, Any]], second: list[dict[str, Any]], trained: TrainedJudge
) -> list[dict[str, Any]]:
    """What ``CascadeJudge`` shows, from the two judges' rows on the same pairs: the LLM's
    verdict where the trained judge's score lies in its band, the trained judge's elsewhere
    (``llm`` marks the pairs that reach the LLM). Its curve joins the two judges' scores, each
    mapped to its own threshold at 0.5 (``on_own_scale``)."""
    rows = []
    for a, b in zip(first, second, strict=True):
        to_llm = a["p"] is not None and trained.band.low <= a["p"] <= trained.band.high
        chosen, threshold = (b, LLM_ENTAILED) if to_llm else (a, trained.entailed)
        rows.append({**chosen, "score": on_own_scale(chosen["score"], threshold), "llm": to_llm})
    return rows


def roc(rows: list[dict[str, Any]]) -> list[tuple[float, float]]:
    """(false positive rate, true positive rate) over every threshold, from (0,0) to (1,1)."""
    scored = [(r["score"], r["gold"]) for r in rows if r["gold"] is not None]
    pos = sum(g for _, g in scored) or 1
    neg = sum(not g for _, g in scored) or 1
    points, tp, fp = [(0.0, 0.0)], 0, 0
    for _, group in _by_score(scored):
        tp += sum(g for g in group)
        fp += sum(not g for g in group)
        points.append((fp / neg, tp / pos))
    return points


def _by_score(scored: list[tuple[float, bool]]) -> list[tuple[float, list[bool]]]:
    groups: dict[float, list[bool]] = {}
    for s, g in scored:
        groups.setdefault(s, []).append(g)
    return sorted(groups.items(), key=lambda item: -item[0])


def auc(points: list[tuple[float, float]]) -> float:
    return sum((x1 - x0) * (y0 + y1) / 2 for (x0, y0), (x1, y1) in itertools.pairwise(points))


def roc_svg(title: str, curves: dict[str, list[tuple[float, float]]]) -> str:
    size, pad = 300, 50
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size + 2 * pad}" '
        f'height="{size + 2 * pad + 20 * len(curves)}" font-family="sans-serif" font-size="12">',
        f'<text x="{pad}" y="20">{title}</text>',
        f'<rect x="{pad}" y="{pad}" width="{size}" height="{size}" fill="none" stroke="#999"/>',
        f'<line x1="{pad}" y1="{pad + size}" x2="{pad + size}" y2="{pad}" stroke="#ccc" '
        'stroke-dasharray="4"/>',
        f'<text x="{pad + size / 2 - 50}" y="{pad + size + 30}">false positive rate</text>',
        f'<text x="10" y="{pad + size / 2}" transform="rotate(-90 14 {pad + size / 2})">'
        "true positive rate</text>",
    ]
    for i, (name, points) in enumerate(curves.items()):
        path = " ".join(f"{pad + x * size:.1f},{pad + (1 - y) * size:.1f}" for x, y in points)
        colour = colours[i % len(colours)]
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        y = pad + size + 50 + 20 * i
        parts.append(
            f'<text x="{pad}" y="{y}" fill="{colour}">{name} (AUC {auc(points):.3f})</text>'
        )
    return "\n".join([*parts, "</svg>"])


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    pos = [r for r in rows if r["gold"] is True]
    neg = [r for r in rows if r["gold"] is False]
    other = [r for r in rows if r["gold"] is None]
    times = [r["s"] for r in rows if r["p"] is not None]
    out = {
        "pairs": len(rows),
        "entailed_shown": sum(r["shown"] for r in pos) / max(1, len(pos)),
        "not_entailed_shown": sum(r["shown"] for r in neg) / max(1, len(neg)),
        "accuracy": sum(r["shown"] == r["gold"] for r in pos + neg) / max(1, len(pos + neg)),
        "auc": auc(roc(rows)),
        "judged": len(times),
        "ms_per_judged_pair_p50": 1000 * statistics.median(times) if times else None,
    }
    if other:
        out["unsettled_shown"] = sum(r["shown"] for r in other) / len(other)
    if any("llm" in r for r in rows):
        out["share_to_llm"] = sum(r["llm"] for r in rows) / len(rows)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scifact", type=Path, default=ROOT.parent / "shared/bench-data/scifact")
    parser.add_argument(
        "--fever", type=Path, default=ROOT.parent / "shared/judge-data/fever-symmetric/test.jsonl"
    )
    parser.add_argument("--llm-sample", type=int, default=60, help="0: no LLM judge")
    parser.add_argument("--out", type=Path, default=Path("judges-report"))
    parser.add_argument(
        "--llm-rows",
        type=Path,
        default=None,
        help="keep the LLM judge's rows here, and read them from here when the file exists "
        "(the LLM's verdicts do not depend on the trained model: retrain, then compare again "
        "without waiting for the LLM)",
    )
    args = parser.parse_args()
    sets: dict[str, Callable[[], list[Case]]] = {
        "perturbations": perturbation_cases,
        "scifact": lambda: scifact_cases(args.scifact),
        "fever": lambda: fever_cases(args.fever),
    }
    trained = make_judge(Settings(), "local", choice="trained")
    llm = make_judge(Settings(), "local", choice="local") if args.llm_sample else None
    kept = (
        json.loads(args.llm_rows.read_text(encoding="utf-8"))
        if args.llm_rows and args.llm_rows.exists()
        else {}
    )
    assert isinstance(trained, TrainedJudge)
    args.out.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"commit": commit(), "sets": {}}
    lines = [f"# Judges side by side (at {result['commit']})", ""]
    for name, load in sets.items():
        cases = load()
        sample = random.Random(7).sample(cases, min(args.llm_sample, len(cases)))
        runs = {f"{trained.name}, all": judged(cases, trained)}
        if llm is not None:
            first = runs[f"{trained.name}, sample"] = judged(sample, trained)
            second = kept.get(name) or judged(sample, llm)
            kept[name] = runs[f"{llm.name} LLM, sample"] = second
            runs["cascade, sample"] = cascade(first, second, trained)
        figures = {label: summary(rows) for label, rows in runs.items()}
        result["sets"][name] = {"figures": figures, "rows": runs}
        svg = roc_svg(f"{name}: ROC", {label: roc(rows) for label, rows in runs.items()})
        (args.out / f"roc-{name}.svg").write_text(svg, encoding="utf-8")
        lines += [
            f"## {name}",
            "",
            "| judge | pairs | entailed shown | not entailed shown | "
            "accuracy | AUC | ms per judged pair (p50) |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for label, f in figures.items():
            ms = f["ms_per_judged_pair_p50"]
            lines.append(
                f"| {label} | {f['pairs']} | {f['entailed_shown']:.3f} | "
                f"{f['not_entailed_shown']:.3f} | {f['accuracy']:.3f} | {f['auc']:.3f} | "
                f"{'-' if ms is None else f'{ms:.0f}'} |"
            )
        lines.append("")
        print("\n".join(lines[-len(figures) - 4 :]), flush=True)
    (args.out / "judges.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    if args.llm_rows and kept:
        args.llm_rows.write_text(json.dumps(kept), encoding="utf-8")
    (args.out / "judges.md").write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main()
