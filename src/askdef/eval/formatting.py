"""How the reports show a figure, a table cell and a row: shared by the Markdown, HTML and
chart writers, by ``askdef eval``'s printout and by ``compare``."""

from __future__ import annotations

import html
from collections.abc import Sequence

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
# the metrics that tell first turns from follow-ups, in the groups table
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


def format_metric(name: str, value: float) -> str:
    """A metric for people: counts whole, latencies in ms or s, rates with three decimals."""
    if name in COUNTS:
        return f"{value:.0f}"
    if "latency" in name:
        return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
    return f"{value:.3f}"


def md_cell(text: str) -> str:
    """Text safe inside a Markdown table cell (no pipes, newlines or raw HTML)."""
    text = html.escape(" ".join(text.split()), quote=False)
    return text.replace("|", "\\|")


def judge_line(report: EvalReport) -> str:
    """Which judge verified the answers, and which precision grader judged citation precision
    or that none did."""
    verified = f"Answers verified by the {report.verifier} judge. "
    if report.grader == "none":
        return verified + (
            "Citation precision: not measured (no precision grader ran; `--judge local` or "
            "`openai`)."
        )
    return verified + (
        f"Citation precision judged by the {report.grader} model, asked on its own whether "
        "each cited paragraph states its sentence (not the verifier's decision)."
    )


def failures_first(rows: Sequence[EvalRow]) -> list[EvalRow]:
    """Failed rows, then passed ones, each group in question order."""
    return sorted(rows, key=lambda row: row.passed)


def check_marks(row: EvalRow) -> list[tuple[str, bool]]:
    """``(check, passed)`` pairs of a row, with an error as a failed ``error`` check."""
    marks = list(row.checks.items())
    return [*marks, ("error", False)] if row.error else marks
