"""askdef against what a llama-index user would build: ``CitationQueryEngine``, same model.

Usage, from the project root (after ``make setup`` and ``askdef index``)::

    .venv/bin/python benchmarks/answers.py [--questions eval/questions.jsonl] [--sample N]
        [--systems askdef,citation-query-engine] [--out DIR]

Both systems answer the same questions with the same packaged Qwen2.5-Coder-1.5B-Instruct:
askdef with its ``local`` generator (in-process), and llama-index's ``CitationQueryEngine``
over askdef's own Chroma collection (same chunks, same embeddings, ``similarity_top_k`` equal
to askdef's ``context_passages``), calling the model through llama.cpp's OpenAI-compatible
server with ``OpenAILike``. Both are scored by askdef's evaluation (``askdef.eval.evaluation``): the
engine's ``[n]`` markers resolve to its source nodes, whose metadata names the paragraph; an
answer counts as a refusal when it has no citation or says the documents lack the answer.
``--sample N`` takes N questions spread evenly over the file. ``--systems`` picks what runs, in
order: ``askdef`` (local generator), ``askdef-openai`` (askdef's openai generator against the
same llama.cpp server the engine uses) and ``citation-query-engine``. Each report goes to
``DIR/<system>``; the parent prints the metric tables side by side.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generators import _serve_llama_cpp

MARKER = re.compile(r"\[(\d+)\]")
SYSTEMS = ("askdef", "askdef-openai", "citation-query-engine")


class CitationEngineBot:
    """The slice of ``AskDef`` that ``askdef.eval.evaluation.evaluate`` uses (its ``Bot``),
    answered by llama-index."""

    def __init__(self, bot: Any, base_url: str, key: str) -> None:
        from llama_index.core import VectorStoreIndex
        from llama_index.core.query_engine import CitationQueryEngine
        from llama_index.llms.openai_like import OpenAILike

        from askdef.index.retrieval import Snapshot
        from askdef.index.store import IndexDir

        self.settings = bot.settings
        self.embedder = bot.embedder
        self._bot = bot
        index_dir = IndexDir(bot.settings.index_dir)
        snapshot = Snapshot.open(index_dir, index_dir.require_current())
        llm = OpenAILike(
            model="local",
            api_base=base_url,
            api_key=key,
            is_chat_model=True,
            context_window=4096,
            max_tokens=bot.settings.max_answer_tokens,
            temperature=0.0,
            timeout=bot.settings.llm_timeout,
        )
        index = VectorStoreIndex.from_vector_store(snapshot.vectors, embed_model=bot.embedder.model)
        k = bot.settings.context_passages
        self._retriever = index.as_retriever(similarity_top_k=k)
        self._engine = CitationQueryEngine.from_args(index, llm=llm, similarity_top_k=k)
        self.generator = type("G", (), {"name": "citation-query-engine", "model": "local"})()

    def _passage(self, node: Any, score: float | None) -> Any:
        from askdef.types import Passage

        p = self._bot.paragraph(node.metadata["doc_id"], int(node.metadata["paragraph"]))
        return Passage(
            doc_id=p.doc_id,
            paragraph=p.paragraph,
            text=p.text,
            score=score or 0.0,
            start=p.start,
            end=p.end,
            section=p.section,
        )

    def search(self, question: str, k: int = 5) -> list[Any]:
        hits = self._retriever.retrieve(question)[:k]
        return [self._passage(h.node, h.score) for h in hits]

    def ask(self, question: str) -> Any:
        from askdef.answer.steps import looks_like_refusal
        from askdef.types import Answer, Citation, Timings

        started = time.perf_counter()
        response = self._engine.query(question)
        text = str(response.response or "")
        sources = response.source_nodes
        passages = [self._passage(s.node, s.score) for s in sources]
        citations = [
            Citation(
                n=n,
                doc_id=passages[n - 1].doc_id,
                paragraph=passages[n - 1].paragraph,
                quote=passages[n - 1].text,
                start=passages[n - 1].start,
                end=passages[n - 1].end,
            )
            for n in sorted({int(m) for m in MARKER.findall(text)})
            if 1 <= n <= len(passages)
        ]
        return Answer(
            question=question,
            text=text,
            citations=citations,
            passages=passages,
            refused=not citations or looks_like_refusal(text),
            generator="citation-query-engine",
            model="local",
            timings=Timings(total=time.perf_counter() - started),
        )


def _sample(questions: Path, n: int | None, workdir: Path) -> Path:
    lines = [line for line in questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    if n and n < len(lines):
        lines = [lines[round(i * len(lines) / n)] for i in range(n)]
    path = workdir / "sample.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=Path, default=Path("eval/questions.jsonl"))
    parser.add_argument("--sample", type=int, default=None)
    parser.add_argument("--out", type=Path, default=Path("answers-report"))
    parser.add_argument("--systems", default="askdef,citation-query-engine")
    args = parser.parse_args()
    systems = args.systems.split(",")
    if unknown := set(systems) - set(SYSTEMS):
        parser.error(f"unknown systems {sorted(unknown)}; choose from {', '.join(SYSTEMS)}")

    from askdef import AskDef, Settings
    from askdef.eval.evaluation import evaluate
    from askdef.eval.report import write_report

    args.out.mkdir(parents=True, exist_ok=True)
    questions = _sample(args.questions, args.sample, args.out)
    bot = AskDef(settings=Settings(generator="local"))
    reports = {}
    key, server, base_url = secrets.token_urlsafe(16), None, ""
    try:
        for name in systems:
            if name != "askdef" and server is None:  # only once needed: not beside the local model
                server = _serve_llama_cpp(key)
                assert server.stdout is not None
                base_url = server.stdout.readline().strip() + "/v1"
            if name == "askdef":
                reports[name] = bot.evaluate(questions)
            elif name == "askdef-openai":
                os.environ.update(OPENAI_BASE_URL=base_url, OPENAI_API_KEY=key)
                settings = Settings(generator="openai", model="local")
                reports[name] = AskDef(settings=settings).evaluate(questions)
            else:
                engine = CitationEngineBot(bot, base_url, key)
                reports[name] = evaluate(engine, questions)  # type: ignore[arg-type]
            write_report(reports[name], args.out / name)  # kept should a later system fail
    finally:
        if server is not None:
            server.kill()
    names = list(reports)
    print("| metric | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for metric in reports[names[0]].metrics:
        values = [reports[n].metrics.get(metric) for n in names]
        print(
            f"| {metric} | "
            + " | ".join(f"{v:.3f}" if v is not None else "-" for v in values)
            + " |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
