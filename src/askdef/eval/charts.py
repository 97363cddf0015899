"""The report's charts as SVG, written by hand (no plotting library): a bar per 0..1 metric,
a latency histogram and the refusal trade-off over the answer judge's threshold."""

from __future__ import annotations

import html
from collections.abc import Sequence

from askdef.eval.formatting import COUNTS, LOWER_IS_BETTER, format_metric

_BAR, _LABEL, _ROW = 260, 150, 22  # chart geometry, in px


def _rates(metrics: dict[str, float]) -> dict[str, float]:
    return {k: v for k, v in metrics.items() if k not in COUNTS and "latency" not in k}


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
