"""Time to first token, to the first shown (verified) sentence, total time and peak RSS per
answer generator on the bundled corpus.

Usage (from the project root, after ``make setup`` and ``askdef index``)::

    .venv/bin/python benchmarks/generators.py [--generators extractive,local,openai] [--out F]

Each generator runs in its own child process (so peak RSS is its own) over the same ten
questions, after one untimed warm-up question that loads its model. ``openai`` is measured
against a real OpenAI-compatible HTTP server: llama.cpp's own server (xllamacpp) hosting the
same packaged model in a separate process, so the figures show the HTTP path's overhead.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from measured import commit

QUESTIONS = [
    "Which European companies are involved in Japan's F-X fighter program?",
    "By what year does Japan plan to raise defense spending to 2% of GDP?",
    "What challenges must Japan and Europe overcome to cooperate on defense?",
    "How do Japanese and European companies differ in the way they operate?",
    "Apart from combat, what could Japan use artificial intelligence for?",
    "Which countries compete with European firms for defense partnerships with Japan?",
    "Why is cybersecurity important in the Japan-Europe partnership?",
    "What security concerns does Japan face in its region?",
    "What economic benefits can joint defense projects bring?",
    "Who won the 2018 FIFA World Cup?",
]
WARM_UP = "What is the F-X program?"


def _quantile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1]


def measure(generator: str) -> dict[str, Any]:
    """Answer every question with ``generator`` in this process; return its figures."""
    from askdef import Answer, AskDef, Delta, Settings

    bot = AskDef(settings=Settings(generator=generator, model="local"))  # type: ignore[arg-type]
    started = time.perf_counter()
    bot.ask(WARM_UP)
    load = time.perf_counter() - started
    ttft, shown, total, judged, refused, used = [], [], [], [], 0, set()
    for question in QUESTIONS:
        t0 = time.perf_counter()
        first = None
        for event in bot.stream(question):
            if isinstance(event, Delta) and first is None:  # the first verified sentence
                first = time.perf_counter() - t0
            if isinstance(event, Answer):
                total.append(time.perf_counter() - t0)
                judged.append(event.timings.judge)
                refused += event.refused
                used.add(event.generator)
                ttft.append(event.timings.first_token or total[-1])
        shown.append(first if first is not None else total[-1])
    return {
        "generator": generator,
        "answered_by": sorted(used),
        "warm_up_s": round(load, 2),
        "ttft_p50_s": round(statistics.median(ttft), 2),  # the unverified draft's first text
        "first_shown_p50_s": round(statistics.median(shown), 2),
        "first_shown_p95_s": round(_quantile(shown, 0.95), 2),
        "total_p50_s": round(statistics.median(total), 2),
        "total_p95_s": round(_quantile(total, 0.95), 2),
        "judge_p50_s": round(statistics.median(judged), 2),  # entailment checks' share
        "judge_p95_s": round(_quantile(judged, 0.95), 2),
        "refused": refused,
        "questions": len(QUESTIONS),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def _serve_llama_cpp(key: str) -> subprocess.Popen[str]:
    """llama.cpp's OpenAI-compatible server on the packaged model, in its own process."""
    code = (
        "import sys, time, xllamacpp\n"
        "from askdef.answer.packaged_weights import packaged_model_path\n"
        "p = xllamacpp.CommonParams(); p.model.path = str(packaged_model_path())\n"
        f"p.n_ctx = 4096; p.api_keys = [{key!r}]; p.ui = False\n"
        "s = xllamacpp.Server(p); print(s.listening_address, flush=True)\n"
        "time.sleep(3600)\n"
    )
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)


def _child(generator: str, env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", generator],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generators", default="extractive,local,openai")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child)))
        return
    measured = commit()  # before the children run: the code they load is this commit's

    base = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    results = []
    for generator in args.generators.split(","):
        env = dict(base)
        server = None
        if generator == "openai":
            key = secrets.token_urlsafe(16)
            server = _serve_llama_cpp(key)
            assert server.stdout is not None
            env.update(OPENAI_BASE_URL=server.stdout.readline().strip() + "/v1", OPENAI_API_KEY=key)
        try:
            results.append(_child(generator, env))
        finally:
            if server is not None:
                server.kill()
    keys = [k for k in results[0] if k != "generator"]
    print(f"commit {measured}\n")
    print("| figure | " + " | ".join(r["generator"] for r in results) + " |")
    print("|---" * (len(results) + 1) + "|")
    for key in keys:
        print(f"| {key} | " + " | ".join(str(r[key]) for r in results) + " |")
    if args.out:
        args.out.write_text(json.dumps({"commit": measured, "results": results}, indent=2))


if __name__ == "__main__":
    main()
