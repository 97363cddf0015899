"""Search and answer latency with a 250 KB one-line paragraph in the corpus, against without.

Usage (from the project root, after ``make setup``)::

    .venv/bin/python benchmarks/long_paragraph.py [--questions 40]

Builds two indexes in a temporary folder: the bundled ``corpus/``, and the same plus
``long.txt``, one line of ~250,000 characters (about 2,500 generated sentences on the corpus's
subject words), the kind of text a PDF extraction or a log gives. For the first ``--questions``
questions of ``eval/questions.jsonl``, with the extractive generator (no LLM, no judge), it
times ``search`` and ``ask`` one at a time, from cold (the embedder's sentence cache cleared
before each), and prints p50 and max of each, with and without the long paragraph. Then it
times the streamed answer's cut (``first_sentences``) on a model stream of 10,000 words that
never ends a sentence, and of 20,000 sentences cut before the last: it reads each delta once,
so the time grows with the stream's length, not its square.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from measured import commit

from askdef import AskDef, Settings
from askdef.index.backend import generation_name

PROJECT = Path(__file__).resolve().parents[1]
WORDS = (
    "the program defense budget export industry partner cooperation europe japan fighter "
    "engine radar navy treaty"
).split()


def long_line(chars: int = 250_000) -> str:
    rng, sentences, size = random.Random(3), [], 0
    while size < chars:
        sentence = " ".join(rng.choice(WORDS) for _ in range(14)).capitalize() + "."
        sentences.append(sentence)
        size += len(sentence) + 1
    return " ".join(sentences) + "\n"


def timed(corpus: Path, index: Path, questions: list[str]) -> dict[str, float]:
    bot = AskDef(corpus, index, settings=Settings(generator="extractive", judge="none"))
    bot.search("warm up")
    bot.ask("warm up?")
    search, ask = [], []
    for question in questions:
        bot.embedder.forget()
        started = time.perf_counter()
        bot.search(question)
        search.append(time.perf_counter() - started)
        bot.embedder.forget()
        started = time.perf_counter()
        bot.ask(question)
        ask.append(time.perf_counter() - started)
    return {
        "search_p50_ms": 1000 * statistics.median(search),
        "search_max_ms": 1000 * max(search),
        "ask_p50_ms": 1000 * statistics.median(ask),
        "ask_max_ms": 1000 * max(ask),
        "paragraphs": sum(len(d["paragraphs"]) for d in bot._live_snapshot().docs.values()),
        "generation": generation_name(bot._live_snapshot().key),
    }


def stream_cut() -> dict[str, float]:
    """Seconds the answer's cut takes over an endless stream and a long one of sentences."""
    from askdef.answer.generation import first_sentences

    endless = ["word "] * 10_000
    sentences = [f"Sentence {i} is here [1]. " for i in range(20_000)]
    deltas = [piece for s in sentences for piece in (s[:9], s[9:])]
    seconds = {}
    for name, stream, limit in (("endless", endless, 3), ("sentences", deltas, 19_999)):
        started = time.perf_counter()
        for _ in first_sentences(iter(stream), limit):
            pass
        seconds[name] = time.perf_counter() - started
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=40)
    args = parser.parse_args()
    lines = (PROJECT / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["question"] for line in lines[: args.questions]]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        normal = Path(shutil.copytree(PROJECT / "corpus", root / "normal"))
        long = Path(shutil.copytree(PROJECT / "corpus", root / "long"))
        (long / "long.txt").write_text(long_line(), encoding="utf-8")
        rows = {}
        for name, corpus in (
            ("bundled corpus", normal),
            ("plus a 250 KB one-line paragraph", long),
        ):
            AskDef(corpus, root / f"{corpus.name}-index").ingest()
            rows[name] = timed(corpus, root / f"{corpus.name}-index", questions)
    print(f"commit {commit()}, {len(questions)} questions, extractive, one at a time, cold\n")
    print("| corpus | paragraphs | search p50 | search max | ask p50 | ask max |")
    print("|---|---|---|---|---|---|")
    for name, r in rows.items():
        print(
            f"| {name} | {r['paragraphs']} | {r['search_p50_ms']:.0f} ms | "
            f"{r['search_max_ms']:.0f} ms | {r['ask_p50_ms']:.0f} ms | {r['ask_max_ms']:.0f} ms |"
        )
    cut = stream_cut()
    print(
        f"\nthe answer's cut: a 10,000-word stream without a stop {cut['endless']:.3f} s, "
        f"20,000 sentences cut before the last {cut['sentences']:.3f} s"
    )


if __name__ == "__main__":
    main()
