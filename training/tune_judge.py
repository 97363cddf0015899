"""Chooses the trained judge's thresholds on the tuning pairs, scored by the exported model as
askdef runs it, and writes ``judge.json`` beside it.

Usage::

    .venv/bin/python training/tune_judge.py build/judge [--model model.onnx] [--version V]

- ``answered``: the highest threshold at which at most ``FALSE_REFUSALS`` of the quotes that
  hold an answer (tuning articles) are scored below it.
- ``entailed``: the lowest threshold at which at most ``FALSE_ACCEPTS`` of the claims made
  unfaithful from tuning-article sentences (negation, swapped names, added causes...) pass.
- ``band`` (the support scores a cascade leaves to an LLM) is written as [0, 1], every pair to
  the LLM, until ``training/choose_band.py`` chooses it with the LLM (``make judge-band``).

The tuning pairs come from SQuAD articles never trained on (``judge_data.TUNE_ARTICLES``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from judge_data import read_jsonl

from askdef.answer.trained_judge import TrainedJudge

FALSE_REFUSALS = 0.05
FALSE_ACCEPTS = 0.02


def _highest_keeping(scores: list[float], share: float) -> float:
    """The highest threshold below which at most ``share`` of ``scores`` fall."""
    ordered = sorted(scores)
    return ordered[int(share * len(ordered))] if ordered else 0.5


def _lowest_rejecting(scores: list[float], share: float) -> float:
    """The lowest threshold at or above which at most ``share`` of ``scores`` lie."""
    ordered = sorted(scores, reverse=True)
    k = int(share * len(ordered))
    return min(1.0, ordered[k] + 1e-6) if ordered else 0.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--model", default="model.onnx")
    parser.add_argument("--version", default="1")
    args = parser.parse_args()
    training = json.loads((args.folder / "training.json").read_text(encoding="utf-8"))
    card = {
        "version": args.version,
        "model_file": args.model,
        "max_tokens": training["max_tokens"],
        "entailed": 0.5,
        "answered": 0.5,
        "band": [0.0, 1.0],
    }
    (args.folder / "judge.json").write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
    judge = TrainedJudge(args.folder)
    pairs = list(read_jsonl(args.folder / "tune_scores.jsonl"))
    started = time.perf_counter()
    scores: list[float] = []
    for i in range(0, len(pairs), 32):
        batch = pairs[i : i + 32]
        scores += judge.scores([(p["premise"], p["hypothesis"]) for p in batch])
    seconds = time.perf_counter() - started
    by_source: dict[str, list[float]] = defaultdict(list)
    drift = max(abs(s - p["score"]) for s, p in zip(scores, pairs, strict=True))
    for p, s in zip(pairs, scores, strict=True):
        by_source[p["source"]].append(s)
    answering = by_source["squad2"] + by_source["squad2-two"]
    unfaithful = [
        s
        for p, s in zip(pairs, scores, strict=True)
        if p["task"] == "entail" and p["source"].startswith("squad-doc") and not p["label"]
    ]
    card["answered"] = round(_highest_keeping(answering, FALSE_REFUSALS), 4)
    card["entailed"] = round(_lowest_rejecting(unfaithful, FALSE_ACCEPTS), 4)
    (args.folder / "judge.json").write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
    print(f"{len(pairs)} tuning pairs in {seconds:.1f} s; largest drift from torch {drift:.4f}")
    print(json.dumps(card))
    for source, values in sorted(by_source.items()):
        bar = card["answered"] if source.startswith(("squad2", "near")) else card["entailed"]
        passed = sum(v >= bar for v in values) / len(values)
        print(f"{source:28s} n={len(values):5d} passed {passed:.3f}")


if __name__ == "__main__":
    main()
