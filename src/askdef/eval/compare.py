"""Two runs side by side: ``askdef eval --compare A/report.json B/report.json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from askdef.errors import InputError
from askdef.eval.formatting import LOWER_IS_BETTER, format_metric, md_cell


def load_report(path: Path) -> dict[str, Any]:
    """A ``report.json`` as a dict; ``InputError`` naming the file when it is not one."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"Report {path} does not exist: run `askdef eval` first.") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"Report {path} cannot be read as JSON ({exc}).") from None
    if not isinstance(data, dict) or not isinstance(data.get("metrics"), dict):
        raise InputError(f"{path} is not an askdef report.json (it has no 'metrics').")
    return data


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _delta(name: str, a: float | None, b: float | None) -> str:
    if a is None or b is None:
        return "—"
    diff = b - a
    if abs(diff) < 1e-12:
        return "0"
    better = (diff < 0) == (name in LOWER_IS_BETTER)
    shown = format_metric(name, abs(diff))
    return f"{'+' if diff > 0 else '-'}{shown} ({'better' if better else 'worse'})"


def _changed(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Lines naming the questions that started or stopped passing between the runs."""
    passed_a = {r["id"]: r.get("passed") for r in a.get("rows", []) if "id" in r}
    passed_b = {r["id"]: r.get("passed") for r in b.get("rows", []) if "id" in r}
    common = [i for i in passed_a if i in passed_b]
    lines = []
    for label, was, now in (
        ("Newly failing in B", True, False),
        ("Newly passing in B", False, True),
    ):
        ids = [i for i in common if passed_a[i] is was and passed_b[i] is now]
        if ids:
            lines.append(f"{label}: {', '.join(md_cell(i) for i in ids)}")
    return lines


def compare(a_json: Path, b_json: Path) -> str:
    """Two runs' metrics side by side, as a Markdown table with B - A deltas."""
    a, b = load_report(a_json), load_report(b_json)
    names = list(dict.fromkeys([*a["metrics"], *b["metrics"]]))

    def cell(run: dict[str, Any], name: str) -> str:
        value = _number(run["metrics"].get(name))
        return "—" if value is None else format_metric(name, value)

    def label(run: dict[str, Any], path: Path) -> str:
        return f"`{md_cell(str(path))}`: {md_cell(str(run.get('generator', '?')))}, " + (
            f"{run.get('questions', len(run.get('rows', [])))} questions"
        )

    lines = [
        f"A = {label(a, a_json)}  ",
        f"B = {label(b, b_json)}",
        "",
        "| metric | A | B | Δ (B - A) |",
        "|---|---:|---:|---|",
    ]
    for name in names:
        delta = _delta(name, _number(a["metrics"].get(name)), _number(b["metrics"].get(name)))
        lines.append(f"| {md_cell(name)} | {cell(a, name)} | {cell(b, name)} | {delta} |")
    changed = _changed(a, b)
    return "\n".join(lines + (["", *changed] if changed else [])) + "\n"
