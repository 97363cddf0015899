"""Health and search while answers queue: latency of ``/api/health`` and ``/api/search`` during
50 open ``/api/ask`` streams against a slow model.

Usage (from the project root)::

    .venv/bin/python benchmarks/starved.py [--streams 50] [--duration 20] [--answer-seconds 60]

Starts a server as a subprocess (this script with ``--serve``: ``build_app`` over ``corpus/``,
indexed into a temporary folder, with 4 answer slots and room for every stream in the queue)
whose model waits ``--answer-seconds`` before it writes each answer, so every stream stays
open for the whole measurement. It opens ``--streams`` streaming ``POST /api/ask`` requests,
waits until the model holds every answer slot, then for ``--duration`` seconds sends
``GET /api/health`` and ``POST /api/search`` (k=5) one after the other from one client and
prints their latency (p50, p95, max) and errors as a Markdown table. The server runs the
askdef that ``PYTHONPATH`` selects, so two checkouts can be compared on one index
(``--index``).
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from measured import commit

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "Which European companies are involved in Japan's F-X fighter program?"
SLOTS = 4


class SlowModel:
    """A model that thinks for ``seconds`` (its slot held), then says its first passage's first
    sentence; ``started`` is a file it appends a line to as each answer begins."""

    name = "slow"
    model = "slow-1"

    def __init__(self, seconds: float, started: Path) -> None:
        self.seconds = seconds
        self.started = started
        self.lock = threading.Lock()

    def answer(self, question: str, passages: list[object]) -> Iterator[str]:
        with self.lock, self.started.open("a") as out:
            out.write("answer\n")
        time.sleep(self.seconds)
        yield str(getattr(passages[0], "text", "")).split(".")[0] + "."

    def condense(self, question: str, history: list[dict[str, str]]) -> str:
        return question


def serve(port: int, index: Path, seconds: float, started: Path, streams: int) -> None:
    """The server: ``build_app`` with the slow model, ``SLOTS`` slots, every stream queued."""
    import uvicorn

    from askdef import AskDef, Settings
    from askdef.serve.web import build_app, ensure_index

    settings = Settings(corpus_dir=ROOT / "corpus", index_dir=index, judge="none", fallback=False)
    bot = AskDef(settings=settings, generator=SlowModel(seconds, started))  # type: ignore[arg-type]
    ensure_index(bot)
    bot.search("warm up")
    app = build_app(bot, concurrency=SLOTS, queue_size=streams)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def quantiles(values: list[float]) -> tuple[float, float, float]:
    """p50, p95 and max of ``values`` in milliseconds."""
    ms = sorted(v * 1000 for v in values)
    p95 = statistics.quantiles(ms, n=20)[-1] if len(ms) > 1 else ms[0]
    return statistics.median(ms), p95, ms[-1]


def measure(
    args: argparse.Namespace, index: Path, work: Path
) -> tuple[dict[str, list[float]], dict[str, int]]:
    """Latencies of the successful health and search requests, and failures, per route."""
    port = free_port()
    started = work / "started"
    started.write_text("")
    command = [sys.executable, __file__, "--serve", "--port", str(port), "--index", str(index)]
    command += ["--answer-seconds", str(args.answer_seconds), "--started", str(started)]
    command += ["--streams", str(args.streams)]
    server = subprocess.Popen(command, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 600
        while True:
            assert server.poll() is None and time.monotonic() < deadline, "no server"
            try:
                if httpx.get(f"{base}/api/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        body = json.dumps({"question": QUESTION, "stream": True})

        def stream() -> None:
            try:
                with httpx.Client(timeout=args.answer_seconds * 20) as http:
                    http.post(
                        f"{base}/api/ask",
                        content=body,
                        headers={"content-type": "application/json"},
                    )
            except httpx.HTTPError:
                pass  # the server is stopped under the streams still waiting

        for _ in range(args.streams):
            threading.Thread(target=stream, daemon=True).start()
        while started.read_text().count("\n") < SLOTS:  # every slot held by the slow model
            time.sleep(0.1)
        time.sleep(1.0)  # the rest of the streams reach the queue
        latencies: dict[str, list[float]] = {"health": [], "search": []}
        failed = {"health": 0, "search": 0}

        def probe(http: httpx.Client, name: str) -> None:
            began = time.perf_counter()
            try:
                if name == "health":
                    ok = http.get("/api/health").status_code == 200
                else:
                    ok = http.post("/api/search", json={"question": QUESTION}).status_code == 200
            except httpx.HTTPError:  # a timeout: the pool never freed a thread
                ok = False
            if ok:
                latencies[name].append(time.perf_counter() - began)
            else:
                failed[name] += 1

        # Open loop: a probe of each route every --every s, whether or not the last came back,
        # so a starved pool shows in every probe sent while it lasts.
        probes: list[threading.Thread] = []
        with httpx.Client(
            base_url=base, timeout=120, limits=httpx.Limits(max_connections=None)
        ) as http:
            end = time.monotonic() + args.duration
            while time.monotonic() < end:
                for name in ("health", "search"):
                    probes.append(threading.Thread(target=probe, args=(http, name)))
                    probes[-1].start()
                time.sleep(args.every)
            for thread in probes:
                thread.join()
        return latencies, failed
    finally:
        server.kill()  # streams are still open: no graceful shutdown to wait for
        server.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--answer-seconds", type=float, default=10.0)
    parser.add_argument("--every", type=float, default=0.25, help="seconds between probes")
    parser.add_argument("--index", type=Path, help="index folder (default: a temporary one)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--started", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.port, args.index, args.answer_seconds, args.started, args.streams)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        index = args.index or Path(tmp) / "index"
        found, failed = measure(args, index, Path(tmp))
    import askdef

    print(f"askdef at {commit()} ({Path(askdef.__file__).parent}), {args.streams} open streams")
    print("\n| route | requests | errors | p50 (ms) | p95 (ms) | max (ms) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in ("health", "search"):
        p50, p95, top = quantiles(found[name]) if found[name] else (float("nan"),) * 3
        row = [name, len(found[name]), failed[name], f"{p50:,.0f}", f"{p95:,.0f}", f"{top:,.0f}"]
        print("| " + " | ".join(str(cell) for cell in row) + " |")
    return 1 if any(failed.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
