"""What the tests that start servers share: a free port, and waiting for one to serve."""

from __future__ import annotations

import socket
import subprocess
import time

import httpx


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_health(
    process: subprocess.Popen[str], url: str, seconds: float = 120
) -> httpx.Response:
    """``url``'s ``/api/health`` once ``process`` serves it; fails with the process's output if
    it exits first, or after ``seconds`` (a loaded machine starts it slowly)."""
    deadline = time.monotonic() + seconds
    while True:
        assert process.poll() is None, process.stdout and process.stdout.read()
        assert time.monotonic() < deadline, f"{url} did not serve in {seconds:.0f} s"
        try:
            return httpx.get(f"{url}/api/health", timeout=2)
        except httpx.TransportError:
            time.sleep(0.5)
