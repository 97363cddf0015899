"""What a benchmark measured: the commit, so a figure can be traced to the code it timed."""

from __future__ import annotations

import subprocess
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]


def commit() -> str:
    """The short hash of HEAD, with ``+changes`` when the work tree differs from it (the
    figure then measures code no commit holds); ``unknown`` outside a git checkout."""

    def git(*args: str) -> str:
        run = subprocess.run(["git", *args], capture_output=True, text=True, cwd=PROJECT)
        return run.stdout.strip() if run.returncode == 0 else ""

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return f"{head}+changes" if git("status", "--porcelain", "--untracked-files=no") else head
