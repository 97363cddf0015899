"""The web server under load: concurrent clients asking real questions over HTTP.

Usage (from the project root, after ``make setup``)::

    .venv/bin/python benchmarks/load.py [--clients 20] [--requests-per-client 10]
                                        [--search-requests-per-client 10] [--duration 600]
                                        [--out results.json]

Starts the real server (``.venv/bin/python app.py --port <free port> --generator extractive``)
as a subprocess on 127.0.0.1 over ``corpus/`` and ``index/`` (running ``askdef index``, or
``askdef index --rebuild`` if that fails, first), waits for ``GET /api/health`` to answer 200,
sends one untimed warm-up question, then runs two phases, each with ``--clients`` threads of
their own ``httpx.Client``, started together:

1. ``POST /api/ask`` (non-streaming JSON), ``--requests-per-client`` each;
2. ``POST /api/search`` (k=5), ``--search-requests-per-client`` each (0 skips it).

The questions are the ``question`` fields of ``eval/questions.jsonl``, round-robin. Every
request's latency, HTTP status and error are recorded: anything but a 200 whose JSON body has
``text`` and ``citations`` (ask) or ``passages`` (search) is an error; a 503 (the server's
answer slots and queue are full; it sends ``Retry-After``) is counted as its own kind and never
retried. No client starts a request after ``--duration`` seconds of a phase.

The server's peak RSS is its ``VmHWM`` in ``/proc/<pid>/status`` at the end, plus the peak of
any child process; the RSS of the process tree is also sampled every 0.2 s. The result is
printed as a Markdown table (and written as JSON with ``--out``); the server is stopped at the
end (SIGTERM, then SIGKILL after 15 s).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
ASKDEF = ROOT / ".venv" / "bin" / "askdef"
QUESTIONS = ROOT / "eval" / "questions.jsonl"
HOST = "127.0.0.1"
REQUEST_TIMEOUT = 300.0  # seconds; above the server's 180 s answer deadline
START_TIMEOUT = 600.0  # seconds for the server to load its models and answer /api/health


# --------------------------------------------------------------------------- the server


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def ensure_index() -> None:
    """``askdef index`` (incremental), or ``askdef index --rebuild`` if that fails."""
    if subprocess.run([str(ASKDEF), "index"], cwd=ROOT, check=False).returncode != 0:
        subprocess.run([str(ASKDEF), "index", "--rebuild"], cwd=ROOT, check=True)


def start_server(port: int, log: Path) -> subprocess.Popen[bytes]:
    """``app.py --generator extractive`` on ``port``, its output in ``log``."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(PYTHON), "app.py", "--port", str(port), "--generator", "extractive"],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


def wait_healthy(server: subprocess.Popen[bytes], base: str, log: Path) -> dict[str, Any]:
    """Poll ``/api/health`` until it answers 200; fail if the server exits or never does."""
    deadline = time.monotonic() + START_TIMEOUT
    with httpx.Client(base_url=base, timeout=5.0) as http:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise SystemExit(f"the server exited ({server.returncode}):\n{log.read_text()}")
            try:
                response = http.get("/api/health")
                if response.status_code == 200:
                    body: dict[str, Any] = response.json()
                    return body
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
    raise SystemExit(f"the server did not become healthy in {START_TIMEOUT:g} s")


def stop_server(server: subprocess.Popen[bytes], grace: float = 15.0) -> int:
    """SIGTERM, then SIGKILL after ``grace`` seconds; the exit code."""
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(grace)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    return server.returncode


# --------------------------------------------------------------------------- memory


def _status_kb(pid: int, key: str) -> int:
    """A ``kB`` field of ``/proc/<pid>/status`` (0 if the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid``, from ``/proc/<pid>/task/*/children``."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                kids = [int(k) for k in (task / "children").read_text().split()]
            except OSError:
                continue
            found.extend(kids)
            todo.extend(kids)
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` (and its waited-for children) so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


class MemorySampler(threading.Thread):
    """Samples the RSS of a process and its descendants; keeps the peaks."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        self.pid, self.every = pid, every
        self.peak_tree_kb = 0
        self.child_hwm_kb: dict[int, int] = {}
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.sample()
            self._halt.wait(self.every)

    def sample(self) -> None:
        total = _status_kb(self.pid, "VmRSS")
        for child in descendants(self.pid):
            total += _status_kb(child, "VmRSS")
            hwm = _status_kb(child, "VmHWM")
            self.child_hwm_kb[child] = max(self.child_hwm_kb.get(child, 0), hwm)
        self.peak_tree_kb = max(self.peak_tree_kb, total)

    def stop(self) -> None:
        self._halt.set()
        self.join()
        self.sample()


# --------------------------------------------------------------------------- the clients


@dataclass
class Result:
    """One request."""

    client: int
    question: str
    seconds: float
    status: int | None
    error: str | None  # None, "http_503", "http_<code>", "bad_body", or an httpx error class
    retry_after: str | None = None
    detail: str = ""


@dataclass
class Phase:
    """One phase's requests and wall time."""

    endpoint: str
    clients: int
    results: list[Result] = field(default_factory=list)
    wall: float = 0.0
    server_cpu: float = 0.0

    def summary(self) -> dict[str, Any]:
        ok = [r.seconds for r in self.results if r.error is None]
        every = [r.seconds for r in self.results]
        errors = Counter(r.error for r in self.results if r.error is not None)
        return {
            "endpoint": self.endpoint,
            "requests": len(self.results),
            "clients": self.clients,
            "ok": len(ok),
            "errors": dict(errors),
            "wall_s": self.wall,
            "throughput_rps": len(self.results) / self.wall if self.wall else 0.0,
            "server_cpu_s": self.server_cpu,
            "latency_ok_s": quantiles(ok),
            "latency_all_s": quantiles(every),
        }


def quantiles(values: list[float]) -> dict[str, float]:
    """p50, p95 and max of ``values`` (empty dict for none)."""
    if not values:
        return {}
    if len(values) == 1:
        return {"p50": values[0], "p95": values[0], "max": values[0]}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": statistics.median(values), "p95": cuts[94], "max": max(values)}


def check_body(endpoint: str, response: httpx.Response) -> str | None:
    """Why a 200 body is not a good answer (None if it is)."""
    try:
        body = response.json()
    except ValueError:
        return "not JSON"
    if not isinstance(body, dict):
        return "not a JSON object"
    if endpoint == "/api/ask":
        if not isinstance(body.get("text"), str) or not isinstance(body.get("citations"), list):
            return "no text/citations"
    elif not isinstance(body.get("passages"), list):
        return "no passages"
    return None


def one_request(http: httpx.Client, endpoint: str, client: int, question: str) -> Result:
    """Send one question; time it and classify the outcome."""
    payload: dict[str, Any] = (
        {"question": question, "stream": False}
        if endpoint == "/api/ask"
        else {"question": question, "k": 5}
    )
    started = time.perf_counter()
    try:
        response = http.post(endpoint, json=payload)
    except httpx.HTTPError as exc:
        seconds = time.perf_counter() - started
        return Result(client, question, seconds, None, type(exc).__name__, detail=str(exc))
    seconds = time.perf_counter() - started
    if response.status_code != 200:
        return Result(
            client,
            question,
            seconds,
            response.status_code,
            f"http_{response.status_code}",
            retry_after=response.headers.get("retry-after"),
            detail=response.text[:300],
        )
    problem = check_body(endpoint, response)
    if problem:
        return Result(client, question, seconds, 200, "bad_body", detail=problem)
    return Result(client, question, seconds, 200, None)


def run_phase(
    base: str,
    endpoint: str,
    questions: list[str],
    *,
    clients: int,
    per_client: int,
    duration: float,
    server_pid: int,
) -> Phase:
    """``clients`` threads, each sending ``per_client`` requests (or until ``duration`` s)."""
    phase = Phase(endpoint, clients)
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def work(client: int) -> None:
        timeout = httpx.Timeout(REQUEST_TIMEOUT, connect=10.0)
        with httpx.Client(base_url=base, timeout=timeout) as http:
            barrier.wait()
            for i in range(per_client):
                if time.monotonic() >= stop_at[0]:
                    break
                question = questions[(client * per_client + i) % len(questions)]
                result = one_request(http, endpoint, client, question)
                with lock:
                    phase.results.append(result)

    threads = [threading.Thread(target=work, args=(c,), name=f"client-{c}") for c in range(clients)]
    for thread in threads:
        thread.start()
    cpu_before = cpu_seconds(server_pid)
    stop_at[0] = time.monotonic() + duration
    started = time.perf_counter()
    barrier.wait()
    for thread in threads:
        thread.join()
    phase.wall = time.perf_counter() - started
    phase.server_cpu = cpu_seconds(server_pid) - cpu_before
    return phase


# --------------------------------------------------------------------------- the report


def _ms(latency: dict[str, float], key: str) -> str:
    return f"{latency[key] * 1000:,.0f}" if key in latency else "-"


def _errors(errors: dict[str, int]) -> str:
    if not errors:
        return "0"
    return ", ".join(f"{n} {kind}" for kind, n in sorted(errors.items()))


def markdown(summaries: list[dict[str, Any]], memory: dict[str, float]) -> str:
    """The results as a Markdown table, one column per phase."""
    heads = [f"`{s['endpoint']}`" for s in summaries]
    rows: list[tuple[str, list[str]]] = [
        ("requests", [str(s["requests"]) for s in summaries]),
        ("concurrent clients", [str(s["clients"]) for s in summaries]),
        ("errors", [_errors(s["errors"]) for s in summaries]),
        ("wall time (s)", [f"{s['wall_s']:.1f}" for s in summaries]),
        ("throughput (req/s)", [f"{s['throughput_rps']:.2f}" for s in summaries]),
        ("latency p50 (ms, successful)", [_ms(s["latency_ok_s"], "p50") for s in summaries]),
        ("latency p95 (ms, successful)", [_ms(s["latency_ok_s"], "p95") for s in summaries]),
        ("latency max (ms, successful)", [_ms(s["latency_ok_s"], "max") for s in summaries]),
        (
            "server CPU per request (ms)",
            [
                f"{s['server_cpu_s'] / s['requests'] * 1000:,.0f}" if s["requests"] else "-"
                for s in summaries
            ],
        ),
    ]
    lines = [
        f"| metric | {' | '.join(heads)} |",
        f"|---|{'---:|' * len(heads)}",
        *(f"| {name} | {' | '.join(cells)} |" for name, cells in rows),
    ]
    span = len(heads)
    rss = f"{memory['server_peak_rss_mb']:,.0f}"
    tree = f"{memory['tree_peak_rss_sampled_mb']:,.0f}"
    lines.append(
        f"| server peak RSS, whole run (MB, VmHWM + children) | {' | '.join([rss] * span)} |"
    )
    lines.append(
        f"| server process-tree RSS, sampled peak, whole run (MB) | {' | '.join([tree] * span)} |"
    )
    return "\n".join(lines)


def load_questions(path: Path) -> list[str]:
    """The ``question`` fields of a JSONL file, in order."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [str(row["question"]) for row in rows if row.get("question")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients (20)")
    parser.add_argument("--requests-per-client", type=int, default=10, help="asks per client (10)")
    parser.add_argument(
        "--search-requests-per-client",
        type=int,
        default=10,
        help="searches per client in the 2nd phase (10; 0 skips it)",
    )
    parser.add_argument(
        "--duration", type=float, default=600.0, help="no new request after this many s (600)"
    )
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    parser.add_argument("--skip-index", action="store_true", help="do not run askdef index first")
    args = parser.parse_args(argv)

    questions = load_questions(QUESTIONS)
    if not args.skip_index:
        ensure_index()
    port = free_port()
    base = f"http://{HOST}:{port}"
    load_before = os.getloadavg()
    log = Path(tempfile.mkstemp(prefix="askdef-load-", suffix=".log")[1])
    started = time.perf_counter()
    server = start_server(port, log)
    sampler = MemorySampler(server.pid)
    phases: list[Phase] = []
    try:
        health = wait_healthy(server, base, log)
        startup = time.perf_counter() - started
        sampler.start()
        print(f"server ready on {base} in {startup:.1f} s: {health}", file=sys.stderr)
        with httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT) as http:  # untimed warm-up
            warm = one_request(http, "/api/ask", -1, questions[0])
            print(f"warm-up ask: {warm.status} in {warm.seconds:.2f} s", file=sys.stderr)
        plan = [("/api/ask", args.requests_per_client)]
        if args.search_requests_per_client > 0:
            plan.append(("/api/search", args.search_requests_per_client))
        for endpoint, per_client in plan:
            phase = run_phase(
                base,
                endpoint,
                questions,
                clients=args.clients,
                per_client=per_client,
                duration=args.duration,
                server_pid=server.pid,
            )
            phases.append(phase)
            print(f"{endpoint}: {phase.summary()}", file=sys.stderr)
        sampler.stop()
        hwm_kb = _status_kb(server.pid, "VmHWM")
        children_kb = sum(sampler.child_hwm_kb.values())
    finally:
        try:
            if sampler.is_alive():
                sampler.stop()
        finally:
            code = stop_server(server)
    load_after = os.getloadavg()

    memory = {
        "server_vmhwm_mb": hwm_kb / 1024,
        "children_vmhwm_mb": children_kb / 1024,
        "server_peak_rss_mb": (hwm_kb + children_kb) / 1024,
        "tree_peak_rss_sampled_mb": sampler.peak_tree_kb / 1024,
    }
    summaries = [p.summary() for p in phases]
    table = markdown(summaries, memory)
    print(table)
    print(
        f"\nserver start-up {startup:.1f} s; exit code {code}; children seen: "
        f"{len(sampler.child_hwm_kb)}; load average before {load_before[0]:.2f} "
        f"{load_before[1]:.2f} {load_before[2]:.2f}, after {load_after[0]:.2f} "
        f"{load_after[1]:.2f} {load_after[2]:.2f}; {os.cpu_count()} CPUs"
    )
    failures = [r for p in phases for r in p.results if r.error]
    for r in failures[:10]:
        print(f"error: {r.error} status={r.status} retry-after={r.retry_after} {r.detail}")
    if args.out:
        result = {
            "clients": args.clients,
            "requests_per_client": args.requests_per_client,
            "search_requests_per_client": args.search_requests_per_client,
            "questions": len(questions),
            "startup_s": startup,
            "health": health,
            "server_exit_code": code,
            "load_average_before": load_before,
            "load_average_after": load_after,
            "cpus": os.cpu_count(),
            "memory": memory,
            "phases": summaries,
            "requests": {p.endpoint: [asdict(r) for r in p.results] for p in phases},
            "table": table,
        }
        args.out.write_text(json.dumps(result, indent=2))
    if failures:
        print(f"server log kept: {log}")
        return 1
    log.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
