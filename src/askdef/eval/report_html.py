"""A run as ``report.html``: one self-contained page, every piece of text escaped."""

from __future__ import annotations

import html

from askdef.eval.charts import latency_svg, metrics_svg, tradeoff_svg
from askdef.eval.evaluation import EvalReport, EvalRow
from askdef.eval.formatting import GROUPED, check_marks, failures_first, format_metric, judge_line

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
