"""The extractive generator: no LLM, the answer is the best-supported sentences, each cited."""

from __future__ import annotations

from collections.abc import Iterator

from askdef.answer.prompts import REFUSAL
from askdef.answer.relevance import MIN_SCORE, Scored, Scorer, score_sentences
from askdef.types import Passage

KEEP_RATIO = 0.85  # further sentences must score this close to the best one
MAX_SENTENCES = 3


class ExtractiveGenerator:
    """Deterministic answers built from retrieved sentences; instant, and the LLM fallback."""

    name = "extractive"
    model = "extractive"

    def __init__(self, scorer: Scorer, *, passages: int = 4) -> None:
        self._scorer = scorer
        self._passages = passages

    def answer(self, question: str, passages: list[Passage]) -> Iterator[str]:
        """Yield the answer: up to three cited sentences, or the refusal."""
        chosen = self._choose(question, passages[: self._passages])
        if not chosen:
            yield REFUSAL
            return
        chosen.sort(key=lambda s: (s.passage, s.start))
        yield " ".join(f"{s.text} [{s.passage + 1}]" for s in chosen)

    def condense(self, question: str, history: list[dict[str, str]]) -> str:
        """Without an LLM: the last question asked, then this one, for retrieval."""
        previous = [m["content"] for m in history if m.get("role") == "user"]
        return f"{previous[-1]} {question}" if previous else question

    def _choose(self, question: str, passages: list[Passage]) -> list[Scored]:
        if not passages:
            return []
        scored = score_sentences(self._scorer, question, passages)
        if not scored or scored[0].score < MIN_SCORE:
            return []
        floor = max(MIN_SCORE, scored[0].score * KEEP_RATIO)
        return [s for s in scored[:MAX_SENTENCES] if s.score >= floor]
