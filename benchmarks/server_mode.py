"""Scale and server-mode benchmark: askdef embedded and through a local ``chroma run``.

Usage, from the project root::

    .venv/bin/python benchmarks/server_mode.py [--data DIR [DIR ...]] [--limit-docs N]
        [--limit-questions N] [--out FILE.json]

``--data`` names one or more bench folders (``corpus.jsonl``, ``questions.jsonl``; default
``../shared/bench-data/squad``); their corpora are indexed together, e.g. SQuAD and SciFact
for an index of 7,250 paragraphs. Each paragraph is written as ``<id>.txt`` (title, blank line,
text), as ``retrieval.py`` does. For each mode, each phase runs in a child process of its own,
so that its peak RSS is its own:

- ingest (embedder loaded before the clock starts): wall time and paragraphs per second, the
  index's size on disk (the index folder; in server mode also the Chroma server's data folder,
  which holds every mode-server generation), the BM25 part's size, peak RSS; then a re-ingest
  with one paragraph file changed;
- serve, what a new replica does: cold open (the first search of a fresh ``AskDef``: manifest,
  docs, chunks, BM25 loaded from disk in embedded mode or rebuilt in memory in server mode),
  search latency p50 / p95 over the questions after that first one, Recall@10 (gold = the
  question's ``relevant_ids``), and the replica's peak RSS;
- in server mode, the Chroma server's peak RSS, read from ``/proc`` at the end.

The Chroma server runs on this machine, so the numbers show the HTTP and serialisation
overhead, not network latency. The commit measured is printed with the table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from measured import commit  # benchmarks/ is on the path of a script run from it

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = PROJECT_ROOT / ".." / "shared" / "bench-data" / "squad"
K = 10


def _load(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _megabytes(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _start_chroma(path: Path) -> tuple[subprocess.Popen[bytes], str]:
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    chroma = Path(sys.executable).with_name("chroma")
    proc = subprocess.Popen(
        [str(chroma), "run", "--path", str(path), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("chroma run did not start")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ingest_phase(corpus_dir: Path) -> dict[str, Any]:
    """Child: the first ingest and a re-ingest with one file changed (settings from env)."""
    from askdef import AskDef

    bot = AskDef()
    _ = bot.embedder  # loaded before the clock starts
    started = time.perf_counter()
    report = bot.ingest()
    ingest_s = time.perf_counter() - started
    first = sorted(corpus_dir.iterdir())[0]
    first.write_text(first.read_text(encoding="utf-8") + "\nOne more sentence.\n", "utf-8")
    started = time.perf_counter()
    bot.ingest()
    return {
        "chunks": report.chunks,
        "ingest_s": ingest_s,
        "incremental_s": time.perf_counter() - started,
        "ingest_peak_rss_mb": _peak_rss_mb(),
    }


def serve_phase(questions: list[dict[str, Any]]) -> dict[str, Any]:
    """Child: a fresh replica's cold open, then every question searched (settings from env)."""
    from askdef import AskDef

    replica = AskDef()
    _ = replica.embedder  # a replica loads its model at start, before it serves
    started = time.perf_counter()
    replica.search(questions[0]["question"], k=K)
    cold_open_s = time.perf_counter() - started
    latencies, results, recall = [], [], []
    for question in questions:
        started = time.perf_counter()
        passages = replica.search(question["question"], k=K)
        latencies.append((time.perf_counter() - started) * 1000)
        ranked = list(dict.fromkeys(p.doc_id.removesuffix(".txt") for p in passages))
        results.append([p.ref for p in passages])
        gold = set(question["relevant_ids"])
        recall.append(len(gold.intersection(ranked[:K])) / len(gold))
    return {
        "cold_open_s": cold_open_s,
        "search_p50_ms": statistics.median(latencies),
        "search_p95_ms": _percentile(latencies, 0.95),
        "recall_at_10": statistics.mean(recall),
        "serve_peak_rss_mb": _peak_rss_mb(),
        "results": results,
    }


def _child(phase: str, env: dict[str, str], work: Path) -> dict[str, Any]:
    run = subprocess.run(
        [sys.executable, __file__, "--phase", phase, "--work", str(work)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    if run.returncode != 0:
        raise RuntimeError(f"{phase} failed:\n{run.stderr[-3000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def _proc_peak_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    line = next(x for x in status.splitlines() if x.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def run_mode(name: str, work: Path, corpus: list[dict[str, Any]], chroma: Any) -> dict[str, Any]:
    corpus_dir = work / "corpus"
    corpus_dir.mkdir(parents=True)
    for row in corpus:
        (corpus_dir / f"{row['id']}.txt").write_text(
            f"{row['title']}\n\n{row['text']}\n", encoding="utf-8"
        )
    env = {"ASKDEF_CORPUS_DIR": str(corpus_dir), "ASKDEF_INDEX_DIR": str(work / "index")}
    if chroma is not None:
        env["ASKDEF_CHROMA_URL"] = chroma["url"]
    row: dict[str, Any] = {"mode": name, "docs": len(corpus)}
    row |= _child("ingest", env, work)
    row["ingest_docs_per_s"] = len(corpus) / row["ingest_s"]
    row["disk_mb"] = _megabytes(work / "index") + (
        _megabytes(chroma["path"]) if chroma is not None else 0.0
    )
    bm25 = list((work / "index").glob("gen-*/bm25"))  # embedded mode keeps BM25 on disk
    row["bm25_disk_mb"] = _megabytes(bm25[0]) if bm25 else None
    row |= _child("serve", env, work)
    if chroma is not None:
        row["chroma_server_peak_rss_mb"] = _proc_peak_mb(chroma["proc"].pid)
    return row


TABLE = [
    ("ingest_s", "ingest wall time (s)", "{:.0f}"),
    ("ingest_docs_per_s", "ingest throughput (paragraphs/s)", "{:.1f}"),
    ("chunks", "chunks", "{}"),
    ("incremental_s", "re-ingest, 1 file changed (s)", "{:.1f}"),
    ("disk_mb", "index on disk (MB)", "{:.0f}"),
    ("bm25_disk_mb", "of which BM25 (MB)", "{:.1f}"),
    ("ingest_peak_rss_mb", "ingest peak RSS (MB)", "{:.0f}"),
    ("cold_open_s", "cold open + first search (s)", "{:.2f}"),
    ("search_p50_ms", "search latency p50 (ms)", "{:.1f}"),
    ("search_p95_ms", "search latency p95 (ms)", "{:.1f}"),
    ("recall_at_10", "Recall@10", "{:.3f}"),
    ("serve_peak_rss_mb", "replica peak RSS (MB)", "{:.0f}"),
    ("chroma_server_peak_rss_mb", "Chroma server peak RSS (MB)", "{:.0f}"),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, nargs="+", default=[DEFAULT_DATA])
    parser.add_argument("--limit-docs", type=int, default=None)
    parser.add_argument("--limit-questions", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--phase", choices=["ingest", "serve"], help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.phase == "ingest":
        print(json.dumps(ingest_phase(args.work / "corpus")))
        return 0
    if args.phase == "serve":
        print(json.dumps(serve_phase(_load(args.work.parent / "questions.jsonl"))))
        return 0

    corpus = [row for folder in args.data for row in _load(folder / "corpus.jsonl")]
    corpus = corpus[: args.limit_docs]
    keep = {row["id"] for row in corpus}
    if len(keep) != len(corpus):
        raise SystemExit("paragraph ids repeat across the --data folders")
    questions = [
        q
        for folder in args.data
        for q in _load(folder / "questions.jsonl")
        if set(q.get("relevant_ids", ())) & keep
    ][: args.limit_questions]
    measured = commit()
    rows = []
    with tempfile.TemporaryDirectory(prefix="askdef-bench-") as tmp:
        work = Path(tmp)
        (work / "questions.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions))
        proc, url = _start_chroma(work / "chroma")
        try:
            chroma = {"proc": proc, "url": url, "path": work / "chroma"}
            for name, server in [("embedded", None), ("chroma server", chroma)]:
                rows.append(run_mode(name, work / name.replace(" ", "-"), corpus, server))
                print(f"{name}: done", file=sys.stderr)
        finally:
            proc.terminate()
            proc.wait()

    pairs = list(zip(rows[0]["results"], rows[1]["results"], strict=True))
    same = sum(a == b for a, b in pairs)
    same_top = sum(a[:1] == b[:1] for a, b in pairs)
    print(f"commit {measured}: {len(corpus)} paragraphs, {len(questions)} questions; identical "
          f"top-{K} lists: {same}/{len(questions)}, identical top hit: {same_top}/"
          f"{len(questions)}\n")  # fmt: skip
    print("| metric | " + " | ".join(r["mode"] for r in rows) + " |")
    print("|---|" + "---:|" * len(rows))
    for key, label, fmt in TABLE:
        cells = ["n/a" if r.get(key) is None else fmt.format(r[key]) for r in rows]
        print(f"| {label} | " + " | ".join(cells) + " |")
    if args.out:
        for r in rows:
            r.pop("results")
        report = {"commit": measured, "identical_top10": same, "identical_top1": same_top}
        args.out.write_text(json.dumps({**report, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
