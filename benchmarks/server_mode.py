"""Server-mode benchmark: askdef through a local ``chroma run`` against the embedded store.

Usage, from the project root::

    .venv/bin/python benchmarks/server_mode.py [--data DIR] [--limit-docs N]
        [--limit-questions N] [--out FILE.json]

Writes each SQuAD paragraph as ``<id>.txt`` (title, blank line, text), as ``retrieval.py`` does,
then for each mode, in one process with the embedder loaded beforehand:

- ingest throughput: paragraphs / wall seconds of ``AskDef.ingest()`` (embedding included, which
  costs the same in both modes, so the difference is the store's own cost);
- incremental re-ingest with one paragraph file changed (server mode copies the unchanged
  vectors into the new generation's collection; embedded mode copies the folder);
- cold open: the first search of a fresh ``AskDef`` (what a new replica pays: manifest, docs,
  chunks, BM25 rebuilt in memory in server mode, loaded from disk in embedded mode);
- search latency p50 / p95 over the questions, after one untimed warm-up;
- Recall@10 (gold = the question's ``relevant_ids``) and how often both modes return the same
  top-10 list and the same top hit.

The Chroma server is started here (``chroma run --path TMP --port FREE``) on the same machine, so
the numbers show the HTTP and serialisation overhead, not network latency.
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
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = PROJECT_ROOT / ".." / "shared" / "bench-data" / "squad"
K = 10


def _load(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


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


def run_mode(
    name: str, settings: Any, questions: list[dict[str, Any]], corpus_dir: Path, docs: int
) -> dict[str, Any]:
    from askdef import AskDef

    bot = AskDef(settings=settings)
    _ = bot.embedder  # loaded before the clock starts
    started = time.perf_counter()
    report = bot.ingest()
    ingest_s = time.perf_counter() - started

    first = sorted(corpus_dir.iterdir())[0]
    first.write_text(first.read_text(encoding="utf-8") + "\nOne more sentence.\n", "utf-8")
    started = time.perf_counter()
    bot.ingest()
    incremental_s = time.perf_counter() - started

    replica = AskDef(settings=settings)  # a fresh process's view: nothing opened yet
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
        "mode": name,
        "docs": docs,
        "chunks": report.chunks,
        "ingest_s": ingest_s,
        "ingest_docs_per_s": docs / ingest_s,
        "incremental_s": incremental_s,
        "cold_open_s": cold_open_s,
        "search_p50_ms": statistics.median(latencies),
        "search_p95_ms": _percentile(latencies, 0.95),
        "recall_at_10": statistics.mean(recall),
        "results": results,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit-docs", type=int, default=None)
    parser.add_argument("--limit-questions", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)

    from askdef import Settings

    corpus = _load(args.data / "corpus.jsonl")[: args.limit_docs]
    keep = {row["id"] for row in corpus}
    questions = [q for q in _load(args.data / "questions.jsonl") if set(q["relevant_ids"]) & keep][
        : args.limit_questions
    ]
    rows = []
    with tempfile.TemporaryDirectory(prefix="askdef-bench-") as tmp:
        work = Path(tmp)
        chroma, url = _start_chroma(work / "chroma")
        try:
            for name, extra in [("embedded", {}), ("chroma server", {"chroma_url": url})]:
                corpus_dir = work / name.replace(" ", "-") / "corpus"
                corpus_dir.mkdir(parents=True)
                for row in corpus:
                    (corpus_dir / f"{row['id']}.txt").write_text(
                        f"{row['title']}\n\n{row['text']}\n", encoding="utf-8"
                    )
                settings = Settings(
                    corpus_dir=corpus_dir, index_dir=corpus_dir.parent / "index", **extra
                )
                rows.append(run_mode(name, settings, questions, corpus_dir, len(corpus)))
                print(f"{name}: done", file=sys.stderr)
        finally:
            chroma.terminate()
            chroma.wait()

    pairs = list(zip(rows[0]["results"], rows[1]["results"], strict=True))
    same = sum(a == b for a, b in pairs)
    same_top = sum(a[:1] == b[:1] for a, b in pairs)
    print(f"{len(corpus)} paragraphs, {len(questions)} questions; identical top-{K} lists: "
          f"{same}/{len(questions)}, identical top hit: {same_top}/{len(questions)}\n")  # fmt: skip
    print("| metric | " + " | ".join(r["mode"] for r in rows) + " |")
    print("|---|" + "---:|" * len(rows))
    for key, label, fmt in [
        ("ingest_docs_per_s", "ingest throughput (docs/s)", "{:.1f}"),
        ("ingest_s", "ingest wall time (s)", "{:.1f}"),
        ("incremental_s", "re-ingest, 1 file changed (s)", "{:.2f}"),
        ("cold_open_s", "cold open + first search (s)", "{:.2f}"),
        ("search_p50_ms", "search latency p50 (ms)", "{:.1f}"),
        ("search_p95_ms", "search latency p95 (ms)", "{:.1f}"),
        ("recall_at_10", "Recall@10", "{:.3f}"),
    ]:
        print(f"| {label} | " + " | ".join(fmt.format(r[key]) for r in rows) + " |")
    if args.out:
        for r in rows:
            r.pop("results")
        args.out.write_text(
            json.dumps(
                {"identical_top10": same, "identical_top1": same_top, "rows": rows}, indent=2
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
