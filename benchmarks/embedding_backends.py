"""Embedding runtimes for the packaged model on this CPU: throughput and dense nDCG@10.

Usage (from the project root)::

    .venv/bin/python benchmarks/embedding_backends.py [--data DIR] [--backends ...] [--out F]

Every backend runs the same all-MiniLM-L6-v2 (mean pooling, normalised) on SQuAD's paragraphs
(``title\\ntext``, as ``retrieval.py``'s llama-index peer embeds them) and questions:

- ``torch``: sentence-transformers as shipped;
- ``onnx``: the model's transformer exported by ``askdef.index.exported_encoder`` and run in
  onnxruntime inside sentence-transformers (``ASKDEF_EMBED_BACKEND=onnx``);
- ``openvino``: that export compiled by OpenVINO with its defaults (bfloat16 on a CPU with
  AVX-512 BF16 or AMX), askdef's default;
- ``openvino-f32``: the same, held to float32, as on a CPU without bfloat16;
- ``onnx-int8``: the export with dynamic int8 weights (``onnxruntime.quantization``).

For each: paragraphs per second (batches of 64, shortest first, as askdef batches), one
question's latency p50, the largest difference from torch's vectors, and nDCG@10 of dense
retrieval alone (cosine over all paragraphs, no BM25 or rerank): the quality a backend can
cost, without the rest of askdef's search masking it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from measured import commit
from retrieval import DEFAULT_DATA, K, load_jsonl, ndcg_at_k

Encode = Callable[[list[str]], np.ndarray]


def _session_encoder(path: Path, tokenizer: Any) -> Encode:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return _pooled(lambda feed: session.run(["last_hidden_state"], feed)[0], tokenizer)


def _openvino_f32_encoder(path: Path, tokenizer: Any) -> Encode:
    import openvino

    compiled = openvino.Core().compile_model(str(path), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    return _pooled(lambda feed: next(iter(compiled(feed).values())), tokenizer)


def _pooled(run: Callable[[dict[str, np.ndarray]], np.ndarray], tokenizer: Any) -> Encode:
    """Tokenise as sentence-transformers does, run the graph, mean-pool and normalise."""

    def encode(texts: list[str]) -> np.ndarray:
        feed = tokenizer(texts, padding=True, truncation=True, max_length=256, return_tensors="np")
        feed = {k: v.astype(np.int64) for k, v in feed.items()}
        hidden = run(feed)
        mask = feed["attention_mask"][..., None].astype(np.float32)
        vectors = (hidden * mask).sum(1) / np.maximum(mask.sum(1), 1e-9)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    return encode


def backends(names: list[str], work: Path) -> dict[str, Encode]:
    from sentence_transformers import SentenceTransformer

    from askdef.index.embedding import _model_path
    from askdef.index.exported_encoder import use_exported
    from askdef.settings import DEFAULT_EMBED_MODEL

    folder = _model_path(DEFAULT_EMBED_MODEL)
    models = {name: SentenceTransformer(str(folder), device="cpu") for name in names}
    for runtime in ("onnx", "openvino"):
        if runtime in models:
            assert use_exported(models[runtime], folder, work, runtime)  # type: ignore[arg-type]
    found: dict[str, Encode] = {
        name: (lambda m: lambda t: m.encode(t, batch_size=64, normalize_embeddings=True))(model)
        for name, model in models.items()
        if name in ("torch", "onnx", "openvino")
    }
    tokenizer = models[names[0]].tokenizer
    if {"onnx-int8", "openvino-f32"} & set(names):
        if not use_exported(SentenceTransformer(str(folder)), folder, work, "onnx"):
            raise SystemExit("the export failed")  # (it is made once, shared by every runtime)
        (exported,) = work.glob("*.onnx")
    if "onnx-int8" in names:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        int8 = work / "int8.onnx"
        quantize_dynamic(str(exported), str(int8), weight_type=QuantType.QInt8)
        found["onnx-int8"] = _session_encoder(int8, tokenizer)
    if "openvino-f32" in names:
        found["openvino-f32"] = _openvino_f32_encoder(exported, tokenizer)
    return {name: found[name] for name in names}


def measure(encode: Encode, docs: list[str], asked: list[str]) -> dict[str, Any]:
    order = sorted(range(len(docs)), key=lambda i: len(docs[i]))
    vectors = np.zeros((len(docs), 384), dtype=np.float32)
    started = time.perf_counter()
    for i in range(0, len(order), 64):
        batch = order[i : i + 64]
        vectors[batch] = encode([docs[j] for j in batch])
    rate = len(docs) / (time.perf_counter() - started)
    latencies, queries = [], []
    for question in asked:
        started = time.perf_counter()
        queries.append(encode([question])[0])
        latencies.append((time.perf_counter() - started) * 1000)
    return {
        "paragraphs_per_s": round(rate, 1),
        "question_p50_ms": round(statistics.median(latencies), 1),
        "vectors": vectors,
        "queries": np.array(queries),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--backends", default="torch,onnx,openvino,openvino-f32,onnx-int8")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    corpus = load_jsonl(args.data / "corpus.jsonl")
    rows = load_jsonl(args.data / "questions.jsonl")
    docs = [f"{d['title']}\n{d['text']}" for d in corpus]
    ids = [d["id"] for d in corpus]
    measured, results = commit(), {}
    with tempfile.TemporaryDirectory() as work:
        for name, encode in backends(args.backends.split(","), Path(work)).items():
            results[name] = measure(encode, docs, [r["question"] for r in rows])
    reference = results.get("torch")
    table = []
    for name, r in results.items():
        scores = r.pop("queries") @ r["vectors"].T
        ranked = [[ids[j] for j in np.argsort(-row)[:K]] for row in scores]
        r["dense_ndcg@10"] = round(
            statistics.mean(
                ndcg_at_k(rank, set(q["relevant_ids"]))
                for rank, q in zip(ranked, rows, strict=True)
            ),
            4,
        )
        if reference is not None:
            r["max_diff_from_torch"] = float(
                f"{np.abs(r['vectors'] - reference['vectors']).max():.2g}"
            )
        table.append({"backend": name, **{k: v for k, v in r.items() if k != "vectors"}})
    print(f"commit {measured}, {len(docs)} paragraphs, {len(rows)} questions\n")
    keys = list(table[0])
    print("| " + " | ".join(keys) + " |\n" + "|---" * len(keys) + "|")
    for row in table:
        print("| " + " | ".join(str(row[k]) for k in keys) + " |")
    if args.out:
        args.out.write_text(json.dumps({"commit": measured, "results": table}, indent=2))


if __name__ == "__main__":
    main()
