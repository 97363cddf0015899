"""Time to the local generator's first token on a question set, per context size.

Usage (from the project root, after ``make setup`` and ``askdef index``)::

    .venv/bin/python benchmarks/first_token.py [--questions eval/questions.jsonl]
        [--half tune|report|all] [--context-sentences 10,8] [--out FILE.json]

Each ``--context-sentences`` value runs in its own child process with the local generator and
no judge, after one untimed warm-up question that loads the model. A question's time is from
``AskDef.stream`` to its first text ``Delta`` (retrieval, sentence scoring and the prompt read
included); the stream is closed there, so the answer is never written in full. A question
answered without the model (refused before generation) has no first token and is not counted.
``--half tune`` takes the even lines of the question set, ``report`` the odd ones: choose a
setting on one half, report it on the other.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from measured import commit

PROJECT = Path(__file__).resolve().parents[1]
WARM_UP = "What is this collection about?"


def questions(path: Path, half: str) -> list[str]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    start, step = {"tune": (0, 2), "report": (1, 2), "all": (0, 1)}[half]
    return [row["question"] for row in rows[start::step]]


def measure(asked: list[str]) -> dict[str, Any]:
    """Time each question to its first token in this process (settings from the environment)."""
    from askdef import AskDef, Delta

    bot = AskDef()
    bot.ask(WARM_UP)
    times = []
    for question in asked:
        started = time.perf_counter()
        events = bot.stream(question)
        for event in events:
            if isinstance(event, Delta):
                times.append(time.perf_counter() - started)
                break
        events.close()  # type: ignore[attr-defined]  # stops the generation at its next token
    cuts = statistics.quantiles(times, n=20, method="inclusive")
    return {
        "context_sentences": bot.settings.context_sentences,
        "first_token_p50_s": round(statistics.median(times), 2),
        "first_token_p95_s": round(cuts[18], 2),
        "generated": len(times),
        "questions": len(asked),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=Path, default=PROJECT / "eval" / "questions.jsonl")
    parser.add_argument("--half", choices=["tune", "report", "all"], default="all")
    parser.add_argument("--context-sentences", default="10")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    asked = questions(args.questions, args.half)
    if args.child:
        print(json.dumps(measure(asked)))
        return
    measured = commit()
    results = []
    for n in args.context_sentences.split(","):
        env = {**os.environ, "ASKDEF_GENERATOR": "local", "ASKDEF_JUDGE": "none"}
        env["ASKDEF_CONTEXT_SENTENCES"] = n
        child = [sys.executable, __file__, "--child", "--half", args.half]
        child += ["--questions", str(args.questions)]
        out = subprocess.run(child, env=env, capture_output=True, text=True, check=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"commit {measured}, {args.half} half of {args.questions.name}\n")
    keys = list(results[0])
    print("| " + " | ".join(keys) + " |\n" + "|---" * len(keys) + "|")
    for row in results:
        print("| " + " | ".join(str(row[k]) for k in keys) + " |")
    if args.out:
        args.out.write_text(json.dumps({"commit": measured, "results": results}, indent=2))


if __name__ == "__main__":
    main()
