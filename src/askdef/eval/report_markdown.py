"""A run as Markdown: ``report.md`` and the tables ``askdef eval`` prints."""

from __future__ import annotations

from askdef.eval.evaluation import EvalReport, EvalRow
from askdef.eval.formatting import (
    GROUPED,
    check_marks,
    failures_first,
    format_metric,
    judge_line,
    md_cell,
)


def metrics_table(metrics: dict[str, float]) -> str:
    """The metrics as a two-column Markdown table (what ``askdef eval`` prints)."""
    rows = [f"| {md_cell(k)} | {format_metric(k, v)} |" for k, v in metrics.items()]
    return "\n".join(["| metric | value |", "|---|---:|", *rows]) + "\n"


def groups_table(groups: dict[str, dict[str, float]], *, k: int) -> str:
    """First turns beside follow-ups (and each kind of follow-up), as a Markdown table of the
    metrics that tell them apart; empty without conversations."""
    if not groups:
        return ""
    names = [name.format(k=k) for name in GROUPED]
    head = f"| metric | {' | '.join(md_cell(g) for g in groups)} |"
    rows = [
        f"| {md_cell(n)} | "
        + " | ".join(format_metric(n, m[n]) if n in m else "-" for m in groups.values())
        + " |"
        for n in names
    ]
    return "\n".join([head, "|---|" + "---:|" * len(groups), *rows]) + "\n"


def _md_checks(row: EvalRow) -> str:
    return " ".join(f"{'✓' if ok else '✗'} {name}" for name, ok in check_marks(row))


def render_markdown(report: EvalReport, *, charts: bool = True) -> str:
    """``report.md``: header, metrics table, charts (``latency.svg``, ``metrics.svg``), rows."""
    lines = [
        "# askdef evaluation",
        "",
        f"Generator **{md_cell(report.generator)}** (model `{md_cell(report.model)}`), "
        f"{len(report.rows)} questions from `{md_cell(report.questions_path)}`, "
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
        lines += ["## Skipped lines", "", *(f"- {md_cell(s)}" for s in report.skipped_lines), ""]
    lines += [
        "## Questions (failures first)",
        "",
        "| | id | question | answer | citations | checks |",
        "|---|---|---|---|---|---|",
    ]
    for row in failures_first(report.rows):
        answer = row.error or (f"**{row.short}** — {row.answer}" if row.short else row.answer)
        lines.append(
            f"| {'✓' if row.passed else '✗'} | {md_cell(row.id)} | {md_cell(row.question)} | "
            f"{md_cell(answer)} | {md_cell(', '.join(row.citations))} | {_md_checks(row)} |"
        )
    return "\n".join(lines) + "\n"
