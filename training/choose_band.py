"""Chooses the cascade's band: the trained judge's support scores it leaves to the LLM judge.

Usage (from the project root; ``make judge-band`` runs the three steps)::

    .venv/bin/python benchmarks/judges.py --llm-sample 0 --out BUILD/judges
    .venv/bin/python benchmarks/perturbations.py --judge local --out BUILD/local.json
    .venv/bin/python training/choose_band.py --trained BUILD/judges/judges.json \\
        --llm BUILD/local.json [--write src/askdef/answer/judge_model]

The band is chosen on claims written by people, not on the made-up tuning pairs
``tune_judge.py`` reads: the perturbation suite's claims on the bundled corpus (its other-topic
half is held out and only reported). Each claim's trained score comes from ``judges.py`` and
the LLM's verdict from a run of the whole pipeline with the LLM judge alone. The band chosen
is the one that sends the fewest claims to the LLM while showing no more unfaithful claims
than the LLM alone, and keeping at most ``KEPT_MARGIN`` fewer faithful ones.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from perturbations import FAITHFUL  # noqa: E402

KEPT_MARGIN = 0.05
# (held out, faithful, trained score or None for a copy no judge sees, LLM shows it,
# shown by the trained judge alone)
Claim = tuple[bool, bool, float | None, bool, bool]


def claims(trained: Path, llm: Path) -> list[Claim]:
    """Every claim of the suite with its trained score and the LLM judge's verdict."""
    groups = json.loads((ROOT / "tests/data/perturbations.json").read_text(encoding="utf-8"))
    cases = [(g["doc"], c["kind"], c["text"]) for g in groups for c in g["claims"]]
    rows = json.loads(trained.read_text(encoding="utf-8"))["sets"]["perturbations"]["rows"]
    scored = next(v for k, v in rows.items() if k.endswith(", all"))
    wrong = set(json.loads(llm.read_text(encoding="utf-8"))["wrong"])
    out = []
    for row, (doc, kind, text) in zip(scored, cases, strict=True):
        faithful = kind in FAITHFUL
        llm_right = f"{kind}: {text}" not in wrong
        score = row["score"] if row["p"] is not None else None
        out.append(
            (doc.startswith("other_topic/"), faithful, score, llm_right == faithful, row["shown"])
        )
    return out


def cascade(data: list[Claim], low: float, high: float) -> tuple[float, float, int, int]:
    """Faithful kept, unfaithful shown, claims sent to the LLM and claims judged, with the
    trained judge deciding outside [low, high]."""
    kept = faithful = shown = unfaithful = to_llm = judged = 0
    for _, is_faithful, score, llm_shows, alone in data:
        if score is None:
            verdict = alone
        else:
            judged += 1
            inside = low <= score <= high
            to_llm += inside
            verdict = llm_shows if inside else score > high
        if is_faithful:
            faithful, kept = faithful + 1, kept + verdict
        else:
            unfaithful, shown = unfaithful + 1, shown + verdict
    return kept / faithful, shown / unfaithful, to_llm, judged


def choose(data: list[Claim], entailed: float) -> tuple[float, float]:
    """The band (low, high) around the trained threshold ``entailed`` by the rule above."""
    llm_kept, llm_shown, _, _ = cascade(data, -1.0, 2.0)
    best: tuple[tuple[int, float, float], float, float] | None = None
    for low in (i / 100 for i in range(1, int(entailed * 100))):
        for high in (entailed + i / 1000 for i in range(int((1 - entailed) * 1000))):
            kept, shown, to_llm, _ = cascade(data, low, high)
            if shown <= llm_shown and kept >= llm_kept - KEPT_MARGIN:
                key = (to_llm, -kept, high - low)
                if best is None or key < best[0]:
                    best = (key, low, high)
    if best is None:
        raise SystemExit("no band matches the LLM alone on the tuning half")
    return round(best[1], 3), round(best[2], 3)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trained", type=Path, required=True)
    parser.add_argument("--llm", type=Path, required=True)
    parser.add_argument("--model", type=Path, default=ROOT / "src/askdef/answer/judge_model")
    parser.add_argument("--write", action="store_true", help="write the band into judge.json")
    args = parser.parse_args()
    card_file = args.model / "judge.json"
    card = json.loads(card_file.read_text(encoding="utf-8"))
    data = claims(args.trained, args.llm)
    tuning = [c for c in data if not c[0]]
    low, high = choose(tuning, card["entailed"])
    print(f"band [{low}, {high}] (was {card['band']})")
    print("| claims | band | faithful kept | unfaithful shown | to the LLM / judged |")
    print("|---|---|---:|---:|---:|")
    for name, part in (
        ("bundled (tuning)", tuning),
        ("other topics (held out)", [c for c in data if c[0]]),
        ("all", data),
    ):
        for label, band in (
            ("chosen", (low, high)),
            ("was", tuple(card["band"])),
            ("LLM alone", (-1.0, 2.0)),
        ):
            kept, shown, to_llm, judged = cascade(part, *band)
            print(f"| {name} | {label} | {kept:.3f} | {shown:.3f} | {to_llm} / {judged} |")
    if args.write:
        card["band"] = [low, high]
        card_file.write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {card_file}")


if __name__ == "__main__":
    main()
