"""An evaluation run written down: ``report.json`` for tools, ``report.md``/``.html`` for people.

``write_report(report, out_dir)`` writes ``report.json`` (stable top-level keys ``metrics``,
``rows``, ``skipped_lines``, ``generator``, ``questions``, plus ``model``, ``settings``, ``k``
and ``questions_path``), ``report.md`` (``report_markdown``) and ``report.html``
(``report_html``: headline metrics, a latency histogram and a per-metric bar chart as SVG, then
every question with failures first), and the charts (``charts``) as ``latency.svg``,
``metrics.svg`` and ``tradeoff.svg`` for the Markdown file to show. ``compare`` sets two runs
side by side.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from askdef.eval.charts import latency_svg, metrics_svg, tradeoff_svg
from askdef.eval.evaluation import EvalReport
from askdef.eval.report_html import render_html
from askdef.eval.report_markdown import render_markdown


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
        "grader": report.grader,
        "verifier": report.verifier,
        "answer_threshold": report.answer_threshold,
        "groups": report.groups,
        "refusal_curve": [
            {"threshold": t, "refusal_accuracy": a, "false_refusal_rate": f}
            for t, a, f in report.refusal_curve
        ],
    }


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
