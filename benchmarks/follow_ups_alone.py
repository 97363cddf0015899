"""Follow-ups asked in their conversation and asked alone: does the conversation lose anything?

Usage (from the project root, after ``make setup``)::

    .venv/bin/python benchmarks/follow_ups_alone.py [eval/conversations.jsonl]
        [--generator extractive|local|openai] [--corpus DIR --index DIR] [--out F.json]

Every follow-up turn of the conversation set carries ``standalone``: the question as a reader
would type it without the conversation (what "it", "their" or "And part-time employees?" refer
to written out from the earlier turns, nothing else reworded). The script scores the
conversations about the corpus searched (as ``askdef eval`` does), then each follow-up's
standalone form asked as a first question with the same gold, and prints both side by side
with the turns where they disagree. A follow-up that fails alone too fails on what the
generator can answer, not on how the conversation reached it.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measured import commit

K = 5  # passages read for hit@k, as ``askdef eval`` counts by default
SHOWN = ("answer_coverage", "citation_recall", f"hit@{K}", "refusal_accuracy", "false_refusal_rate")


def standalone_set(conversations: Path, out: Path) -> int:
    """Each follow-up's standalone form as a one-turn conversation ``<id>/<n>`` in ``out``
    (scored as ``<id>/<n>/1``; corpus paths made absolute, so ``out`` may live anywhere); how
    many were written."""
    rows = []
    for line in conversations.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        conversation = json.loads(line)
        corpus = conversation.get("corpus")
        where = str((conversations.parent / corpus).resolve()) if corpus else None
        for n, turn in enumerate(conversation["turns"][1:], start=2):
            if "standalone" not in turn:
                continue
            alone = {k: v for k, v in turn.items() if k not in ("follow_up", "standalone")}
            alone["question"] = turn["standalone"]
            rows.append({"id": f"{conversation['id']}/{n}", "corpus": where, "turns": [alone]})
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return len(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "conversations", type=Path, nargs="?", default=Path("eval/conversations.jsonl")
    )
    parser.add_argument("--generator", default="extractive")
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--index", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    from askdef.api import AskDef
    from askdef.settings import Settings

    bot = AskDef(args.corpus, args.index, settings=Settings(generator=args.generator))  # type: ignore[arg-type]
    with tempfile.TemporaryDirectory() as tmp:
        alone_path = Path(tmp) / "alone.jsonl"
        standalone_set(args.conversations, alone_path)
        in_conversation = bot.evaluate(args.conversations, progress=False, k=K, grader="none")
        alone = bot.evaluate(alone_path, progress=False, k=K, grader="none")
    from askdef.eval.evaluation import aggregate

    followed = {r.id: r for r in in_conversation.rows if r.follow_up}
    asked_alone = {r.id.removesuffix("/1"): r for r in alone.rows}
    asked_alone = {i: r for i, r in asked_alone.items() if i in followed}
    paired = sorted(asked_alone)
    both = {
        "in the conversation": aggregate([followed[i] for i in paired], k=K),
        "asked alone": aggregate([asked_alone[i] for i in paired], k=K),
    }
    print(f"{len(paired)} follow-ups, {args.generator} generator, at {commit()}\n")
    print("| | " + " | ".join(SHOWN) + " |\n|---|" + "---:|" * len(SHOWN))
    for name, figures in both.items():
        cells = (f"{figures[m]:.3f}" if m in figures else "-" for m in SHOWN)
        print(f"| {name} | " + " | ".join(cells) + " |")
    differ = [i for i in paired if followed[i].passed != asked_alone[i].passed]
    print(f"\nPassed in one and not the other ({len(differ)}):")
    for i in differ:
        print(
            f"- {i} passed {'alone' if asked_alone[i].passed else 'in the conversation'}: "
            f"{followed[i].question!r} / {asked_alone[i].question!r}"
        )
    if args.out:
        report = {
            "commit": commit(),
            "generator": args.generator,
            "figures": {name: {m: figures.get(m) for m in SHOWN} for name, figures in both.items()},
            "rows": {
                i: {"in_conversation": followed[i].passed, "alone": asked_alone[i].passed}
                for i in paired
            },
        }
        args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
