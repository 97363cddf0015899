"""An evaluation run written down: ``report.json`` for tools, ``report.md``/``.html`` for people.

``write_report(report, out_dir)`` writes ``report.json`` (stable top-level keys ``metrics``,
``rows``, ``skipped_lines``, ``generator``, ``questions``, plus ``model``, ``settings``, ``k``
and ``questions_path``), ``report.md`` and ``report.html`` (headline metrics, a latency
histogram and a per-metric bar chart as SVG, then every question with failures first), and the
two charts as ``latency.svg`` and ``metrics.svg`` for the Markdown file to show.
``compare(a_json, b_json)`` sets two runs' metrics side by side as a Markdown table with deltas.
All text in the HTML is escaped; the SVG is written by hand (no plotting library).
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from askdef.errors import InputError
from askdef.eval.evaluation import EvalReport, EvalRow

LOWER_IS_BETTER = frozenset(
    {
        "false_refusal_rate",
        "dropped_citations",
        "latency_p50",
        "latency_p95",
        "first_token_latency_p50",
        "first_token_latency_p95",
        "first_shown_latency_p50",
        "first_shown_latency_p95",
        "search_latency_p50",
        "errors",
    }
)
COUNTS = frozenset({"dropped_citations", "errors", "questions"})
_BAR, _LABEL, _ROW = 260, 150, 22  # chart geometry, in px
_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #ddd; padding: .3rem .5rem; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.fail td:first-child { border-left: 4px solid #c0392b; }
tr.pass td:first-child { border-left: 4px solid #27ae60; }
.ok { color: #1e8449; } .bad { color: #c0392b; font-weight: 600; }
.charts { display: flex; gap: 2rem; flex-wrap: wrap; } small { color: #666; }
"""


# --- values and rows ---------------------------------------------------------------------------


def report_data(report: EvalReport) -> dict[str, Any]:
    """The JSON document of a run (its stable keys first)."""
    return {
        "metrics": report.metrics,
        "rows": [row.model_dump(mode="json") for row in report.rows],
        "skipped_lines": report.skipped_lines,
        "generator": report.generator,
        "questions": len(report.rows),
        "model": report.model,
        "settings": report.settings,
        "k": report.k,
        "questions_path": report.questions_path,
        "judge": report.judge,
        "verifier": report.verifier,
        "answer_threshold": report.answer_threshold,
        "groups": report.groups,
        "refusal_curve": [
            {"threshold": t, "refusal_accuracy": a, "false_refusal_rate": f}
            for t, a, f in report.refusal_curve
        ],
    }


def judge_line(report: EvalReport) -> str:
    """Which judge verified the answers, and who judged citation precision or that nobody
    did."""
    verified = f"Answers verified by the {report.verifier} judge. "
    if report.judge == "none":
        return verified + (
            "Citation precision: not measured (no judge ran; `--judge local` or `openai`)."
        )
    return verified + (
        f"Citation precision judged by the {report.judge} model, asked on its own whether "
        "each cited paragraph states its sentence (not the verifier's decision)."
    )


def format_metric(name: str, value: float) -> str:
    """A metric for people: counts whole, latencies in ms or s, rates with three decimals."""
    if name in COUNTS:
        return f"{value:.0f}"
    if "latency" in name:
        return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
    return f"{value:.3f}"


def metrics_table(metrics: dict[str, float]) -> str:
    """The metrics as a two-column Markdown table (what ``askdef eval`` prints)."""
    rows = [f"| {_md(k)} | {format_metric(k, v)} |" for k, v in metrics.items()]
    return "\n".join(["| metric | value |", "|---|---:|", *rows]) + "\n"


GROUPED = (
    "questions",
    "answer_coverage",
    "citation_recall",
    "refusal_accuracy",
    "false_refusal_rate",
    "hit@{k}",
    "pass_rate",
    "latency_p50",
)


def groups_table(groups: dict[str, dict[str, float]], *, k: int) -> str:
    """First turns beside follow-ups (and each kind of follow-up), as a Markdown table of the
    metrics that tell them apart; empty without conversations."""
    if not groups:
        return ""
    names = [name.format(k=k) for name in GROUPED]
    head = f"| metric | {' | '.join(_md(g) for g in groups)} |"
    rows = [
        f"| {_md(n)} | "
        + " | ".join(format_metric(n, m[n]) if n in m else "-" for m in groups.values())
        + " |"
        for n in names
    ]
    return "\n".join([head, "|---|" + "---:|" * len(groups), *rows]) + "\n"


def failures_first(rows: Sequence[EvalRow]) -> list[EvalRow]:
    """Failed rows, then passed ones, each group in question order."""
    return sorted(rows, key=lambda row: row.passed)


def check_marks(row: EvalRow) -> list[tuple[str, bool]]:
    """``(check, passed)`` pairs of a row, with an error as a failed ``error`` check."""
    marks = list(row.checks.items())
    return [*marks, ("error", False)] if row.error else marks


def _rates(metrics: dict[str, float]) -> dict[str, float]:
    return {k: v for k, v in metrics.items() if k not in COUNTS and "latency" not in k}


# --- charts ------------------------------------------------------------------------------------


def metrics_svg(metrics: dict[str, float]) -> str:
    """A horizontal bar per 0..1 metric, labelled with its value."""
    rates = _rates(metrics)
    width, height = _LABEL + _BAR + 60, _ROW * len(rates) + 30
    parts = [_svg_open(width, height, "Metrics, 0 to 1")]
    for i, (name, value) in enumerate(rates.items()):
        y = 10 + i * _ROW
        bar = max(0.0, min(value, 1.0)) * _BAR
        colour = "#c0392b" if name in LOWER_IS_BETTER else "#2e86c1"
        parts += [
            f'<text x="{_LABEL - 6}" y="{y + 14}" text-anchor="end">{html.escape(name)}</text>',
            f'<rect x="{_LABEL}" y="{y + 3}" width="{_BAR}" height="14" fill="#eee"/>',
            f'<rect x="{_LABEL}" y="{y + 3}" width="{bar:.1f}" height="14" fill="{colour}"/>',
            f'<text x="{_LABEL + _BAR + 6}" y="{y + 14}">{value:.3f}</text>',
        ]
    return "\n".join([*parts, "</svg>"])


def latency_svg(latencies: Sequence[float], *, bins: int = 10) -> str:
    """A histogram of answer latencies: ``bins`` equal-width bars between the extremes."""
    width, height, top, base = 420, 200, 20, 160
    parts = [_svg_open(width, height, "Answer latency histogram")]
    if not latencies:
        return "\n".join([*parts, '<text x="10" y="40">no answers</text>', "</svg>"])
    low, high = min(latencies), max(latencies)
    step = (high - low) / bins or 1.0
    counts = [0] * bins
    for value in latencies:
        counts[min(int((value - low) / step), bins - 1)] += 1
    bar_width = (width - 40) / bins
    for i, count in enumerate(counts):
        bar = (base - top) * count / max(counts)
        x = 20 + i * bar_width
        parts.append(
            f'<rect x="{x:.1f}" y="{base - bar:.1f}" width="{bar_width - 2:.1f}" '
            f'height="{bar:.1f}" fill="#2e86c1"><title>{count}</title></rect>'
        )
        if count:
            parts.append(f'<text x="{x + 2:.1f}" y="{base - bar - 3:.1f}">{count}</text>')
    parts += [
        f'<line x1="20" y1="{base}" x2="{width - 20}" y2="{base}" stroke="#555"/>',
        f'<text x="20" y="{base + 18}">{format_metric("latency", low)}</text>',
        f'<text x="{width - 20}" y="{base + 18}" text-anchor="end">'
        f"{format_metric('latency', high)}</text>",
        f'<text x="{width / 2}" y="{base + 36}" text-anchor="middle">answer latency</text>',
    ]
    return "\n".join([*parts, "</svg>"])


def tradeoff_svg(curve: Sequence[tuple[float, float, float]], default: float | None) -> str:
    """Refusal accuracy (up) against false refusals (right) over the answer judge's threshold,
    one labelled point per threshold, the run's own ringed."""
    # room around the square for the axis labels, and above and right of it for the labels of
    # the points on its top and right edges ("1.00" at threshold 1: all refused)
    size, left, top, right, bottom = 320, 44, 24, 44, 48
    parts = [
        _svg_open(left + size + right, top + size + bottom, "Refusals over the judge's threshold")
    ]

    def xy(false: float, accuracy: float) -> tuple[float, float]:
        return left + false * size, top + (1 - accuracy) * size

    parts += [
        f'<rect x="{left}" y="{top}" width="{size}" height="{size}" fill="none" stroke="#999"/>',
        f'<text x="{left + size / 2}" y="{top + size + 30}" text-anchor="middle">false refusals '
        "(answerable refused) →</text>",
        f'<text x="12" y="{top + size / 2}" transform="rotate(-90 12 {top + size / 2})" '
        'text-anchor="middle">refusal accuracy →</text>',
        f'<text x="{left}" y="{top + size + 14}">0</text>',
        f'<text x="{left + size}" y="{top + size + 14}" text-anchor="end">1</text>',
    ]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(f, a) for _, a, f in curve))
    parts.append(f'<polyline points="{line}" fill="none" stroke="#2e86c1"/>')
    for t, accuracy, false in curve:
        x, y = xy(false, accuracy)
        ours = default is not None and abs(t - default) < 1e-9
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{6 if ours else 3}" '
            f'fill="{"none" if ours else "#2e86c1"}" stroke="#c0392b" '
            f'stroke-width="{2 if ours else 0}">'
            f"<title>threshold {t:.2f}: refusal accuracy {accuracy:.3f}, false refusals "
            f"{false:.3f}</title></circle>"
        )
        if ours or round(t * 20) % 4 == 0:
            parts.append(f'<text x="{x + 6:.1f}" y="{y - 4:.1f}">{t:.2f}</text>')
    return "\n".join([*parts, "</svg>"])


def _svg_open(width: float, height: float, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12" role="img">'
        f"<title>{html.escape(title)}</title>"
    )


# --- Markdown ----------------------------------------------------------------------------------


def _md(text: str) -> str:
    """Text safe inside a Markdown table cell (no pipes, newlines or raw HTML)."""
    text = html.escape(" ".join(text.split()), quote=False)
    return text.replace("|", "\\|")


def _md_checks(row: EvalRow) -> str:
    return " ".join(f"{'✓' if ok else '✗'} {name}" for name, ok in check_marks(row))


def render_markdown(report: EvalReport, *, charts: bool = True) -> str:
    """``report.md``: header, metrics table, charts (``latency.svg``, ``metrics.svg``), rows."""
    lines = [
        "# askdef evaluation",
        "",
        f"Generator **{_md(report.generator)}** (model `{_md(report.model)}`), "
        f"{len(report.rows)} questions from `{_md(report.questions_path)}`, "
        f"{len(report.failures)} failing, {len(report.skipped_lines)} lines skipped.",
        "",
        judge_line(report),
        "",
        metrics_table(report.metrics),
    ]
    if report.groups:
        lines += ["First turns and follow-ups:", "", groups_table(report.groups, k=report.k)]
    if charts:
        lines += ["![answer latency](latency.svg) ![metrics](metrics.svg)", ""]
        if report.refusal_curve:
            lines += [
                "Refusals over the answer judge's threshold (ringed: this run's, "
                f"{report.answer_threshold}):",
                "",
                "![refusal trade-off](tradeoff.svg)",
                "",
            ]
    if report.skipped_lines:
        lines += ["## Skipped lines", "", *(f"- {_md(s)}" for s in report.skipped_lines), ""]
    lines += [
        "## Questions (failures first)",
        "",
        "| | id | question | answer | citations | checks |",
        "|---|---|---|---|---|---|",
    ]
    for row in failures_first(report.rows):
        answer = row.error or (f"**{row.short}** — {row.answer}" if row.short else row.answer)
        lines.append(
            f"| {'✓' if row.passed else '✗'} | {_md(row.id)} | {_md(row.question)} | "
            f"{_md(answer)} | {_md(', '.join(row.citations))} | {_md_checks(row)} |"
        )
    return "\n".join(lines) + "\n"


# --- HTML --------------------------------------------------------------------------------------


def _html_row(row: EvalRow) -> str:
    esc = html.escape
    checks = " ".join(
        f'<span class="{"ok" if ok else "bad"}">{"✓" if ok else "✗"} {esc(name)}</span>'
        for name, ok in check_marks(row)
    )
    answer = f'<span class="bad">{esc(row.error)}</span>' if row.error else esc(row.answer)
    if row.short and not row.error:
        answer = f"<b>{esc(row.short)}</b> — {answer}"
    notes = "".join(f"<br><small>{esc(n)}</small>" for n in row.notes)
    expected = esc(", ".join(row.answers)) or "<small>(refusal)</small>"
    return (
        f'<tr class="{"pass" if row.passed else "fail"}"><td>{esc(row.id)}</td>'
        f"<td>{esc(row.question)}<br><small>expects: {expected}</small></td>"
        f"<td>{answer}{notes}</td><td>{esc(', '.join(row.citations))}</td>"
        f"<td><small>{esc(', '.join(row.gold))}</small></td>"
        f'<td>{checks}</td><td class="num">{format_metric("latency", row.latency)}</td></tr>'
    )


def _groups_html(report: EvalReport) -> str:
    if not report.groups:
        return ""
    esc = html.escape
    head = "".join(f"<th>{esc(g)}</th>" for g in report.groups)
    rows = "".join(
        f"<tr><td>{esc(n)}</td>"
        + "".join(
            f'<td class="num">{format_metric(n, m[n]) if n in m else "-"}</td>'
            for m in report.groups.values()
        )
        + "</tr>"
        for n in (name.format(k=report.k) for name in GROUPED)
    )
    return f"<h3>First turns and follow-ups</h3><table><tr><th>metric</th>{head}</tr>{rows}</table>"


def render_html(report: EvalReport) -> str:
    """``report.html``: one self-contained page; every piece of text is escaped."""
    esc = html.escape
    metrics = "".join(
        f'<tr><td>{esc(k)}</td><td class="num">{format_metric(k, v)}</td></tr>'
        for k, v in report.metrics.items()
    )
    settings = ", ".join(f"{esc(str(k))}={esc(str(v))}" for k, v in report.settings.items())
    skipped = "".join(f"<li>{esc(s)}</li>" for s in report.skipped_lines)
    rows = "\n".join(_html_row(row) for row in failures_first(report.rows))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>askdef evaluation</title>
<style>{_STYLE}</style></head><body>
<h1>askdef evaluation</h1>
<p>Generator <b>{esc(report.generator)}</b> (model <code>{esc(report.model)}</code>),
{len(report.rows)} questions from <code>{esc(report.questions_path)}</code>,
{len(report.failures)} failing, {len(report.skipped_lines)} lines skipped.<br>
<small>{settings}</small></p>
<h2>Metrics</h2>
<p>{esc(judge_line(report)).replace("`", "")}</p>
<table><tr><th>metric</th><th>value</th></tr>{metrics}</table>
{_groups_html(report)}
<div class="charts">{latency_svg([r.latency for r in report.rows if r.error is None])}
{metrics_svg(report.metrics)}
{tradeoff_svg(report.refusal_curve, report.answer_threshold) if report.refusal_curve else ""}</div>
{f"<h2>Skipped lines</h2><ul>{skipped}</ul>" if skipped else ""}
<h2>Questions <small>(failures first)</small></h2>
<table><tr><th>id</th><th>question</th><th>answer</th><th>citations</th><th>gold</th>
<th>checks</th><th>latency</th></tr>
{rows}
</table></body></html>
"""


def write_report(report: EvalReport, out_dir: Path) -> dict[str, Path]:
    """Write ``report.json``, ``report.md``, ``report.html`` and the charts into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    contents = {
        "json": ("report.json", json.dumps(report_data(report), indent=2, ensure_ascii=False)),
        "md": ("report.md", render_markdown(report)),
        "html": ("report.html", render_html(report)),
        "latency_svg": (
            "latency.svg",
            latency_svg([r.latency for r in report.rows if r.error is None]),
        ),
        "metrics_svg": ("metrics.svg", metrics_svg(report.metrics)),
    }
    if report.refusal_curve:
        curve = tradeoff_svg(report.refusal_curve, report.answer_threshold)
        contents["tradeoff_svg"] = ("tradeoff.svg", curve)
    paths: dict[str, Path] = {}
    for key, (name, text) in contents.items():
        paths[key] = out_dir / name
        paths[key].write_text(text + ("" if text.endswith("\n") else "\n"), encoding="utf-8")
    return paths


# --- comparing two runs ------------------------------------------------------------------------


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
            lines.append(f"{label}: {', '.join(_md(i) for i in ids)}")
    return lines


def compare(a_json: Path, b_json: Path) -> str:
    """Two runs' metrics side by side, as a Markdown table with B - A deltas."""
    a, b = load_report(a_json), load_report(b_json)
    names = list(dict.fromkeys([*a["metrics"], *b["metrics"]]))

    def cell(run: dict[str, Any], name: str) -> str:
        value = _number(run["metrics"].get(name))
        return "—" if value is None else format_metric(name, value)

    def label(run: dict[str, Any], path: Path) -> str:
        return f"`{_md(str(path))}`: {_md(str(run.get('generator', '?')))}, " + (
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
        lines.append(f"| {_md(name)} | {cell(a, name)} | {cell(b, name)} | {delta} |")
    changed = _changed(a, b)
    return "\n".join(lines + (["", *changed] if changed else [])) + "\n"
