"""What ``askdef eval`` shows while it runs, so that a long run is never silent.

The precision grader reads every answer (the local one takes seconds per answer), so the bundled 121
questions take tens of minutes even with the extractive generator. On a terminal a tqdm bar
carries the running figures; anywhere else (a pipe, a CI log) a line is printed after the first
question, every ``every`` questions and after the last.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Protocol, TextIO

from askdef.eval.metrics import percentile


class Outcome(Protocol):
    """What the figures read of one scored question (an ``EvalRow``)."""

    answerable: bool
    refused: bool
    coverage: float | None
    latency: float
    error: str | None


def running_figures(rows: Sequence[Outcome]) -> dict[str, str]:
    """The figures so far: answers given, refusals, answer coverage of the answerable
    questions, the answer latency's p50, and errors when there are any."""
    ok = [r for r in rows if r.error is None]
    figures = {
        "answered": str(sum(not r.refused for r in ok)),
        "refused": str(sum(r.refused for r in ok)),
    }
    coverage = [r.coverage for r in ok if r.answerable and r.coverage is not None]
    if coverage:
        figures["coverage"] = f"{sum(coverage) / len(coverage):.2f}"
    if ok:
        figures["p50"] = f"{percentile([r.latency for r in ok], 50):.1f} s"
    if len(ok) < len(rows):
        figures["errors"] = str(len(rows) - len(ok))
    return figures


class Progress:
    """Shows how far a run of ``total`` questions is, and its figures so far (nothing when not
    ``shown``); a context manager that ends the bar however the run ends."""

    def __init__(
        self, total: int, *, shown: bool = True, stream: TextIO | None = None, every: int = 10
    ) -> None:
        from tqdm import tqdm

        self.total, self.shown, self.every = total, shown, every
        self.stream = stream or sys.stderr
        self.rows: list[Outcome] = []
        self.started = time.monotonic()
        terminal = getattr(self.stream, "isatty", lambda: False)()
        on_bar = shown and terminal
        self.bar = tqdm(total=total, desc="eval", unit="q", file=self.stream) if on_bar else None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:  # a terminal's cursor goes to the next line
            self.bar.close()

    def add(self, row: Outcome) -> None:
        """Count one more scored question."""
        self.rows.append(row)
        if not self.shown:
            return
        figures = running_figures(self.rows)
        if self.bar is not None:
            self.bar.set_postfix(figures, refresh=False)
            self.bar.update(1)
            return
        done = len(self.rows)
        if done == 1 or done % self.every == 0 or done == self.total:
            elapsed = time.monotonic() - self.started
            left = elapsed / done * (self.total - done)
            said = ", ".join(f"{name} {value}" for name, value in figures.items())
            print(
                f"eval {done}/{self.total}: {said}; {elapsed:.0f} s so far, about {left:.0f} s "
                "left",
                file=self.stream,
                flush=True,
            )
