"""The extractive generator: no LLM, the answer is the best-supported sentences, each cited."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from askdef.embedding import Embedder
from askdef.prompts import REFUSAL
from askdef.text import content_words, numbers, sentence_spans
from askdef.types import Passage

MIN_SCORE = 0.45  # below this the best sentence does not answer the question
KEEP_RATIO = 0.85  # further sentences must score this close to the best one
MAX_SENTENCES = 3


@dataclass(frozen=True)
class _Candidate:
    passage: int
    position: int
    text: str
    score: float


_WANTS_NUMBER = re.compile(
    r"^\s*(how (many|much|long|far|old)|what (percentage|share|number))\b", re.I
)
_WANTS_TIME = re.compile(r"^\s*(when|in what year|in which year|what year|which year)\b", re.I)
_TIME = re.compile(
    r"\b(1[5-9]\d\d|20\d\d|january|february|march|april|may|june|july|august|september|"
    r"october|november|december|spring|summer|autumn|winter|decade|century)\b",
    re.I,
)


def fits_question_type(question: str, sentence: str) -> bool:
    """A "when" question needs a time in the sentence; "how many/much" needs a number."""
    if _WANTS_TIME.search(question):
        return bool(_TIME.search(sentence))
    if _WANTS_NUMBER.search(question):
        return bool(numbers(sentence))
    return True


def relevance(question: str, passage: Passage, sentence: str, cosine: float) -> float:
    """Half meaning (embedding cosine), half the question's content words in the paragraph."""
    asked = content_words(question)
    context = content_words(f"{passage.section or ''} {passage.text}")
    coverage = len(asked & context) / len(asked) if asked else 0.0
    return 0.5 * cosine + 0.5 * coverage


class ExtractiveGenerator:
    """Deterministic answers built from retrieved sentences; instant, and the LLM fallback."""

    name = "extractive"
    model = "extractive"

    def __init__(self, embedder: Embedder, *, passages: int = 4) -> None:
        self._embedder = embedder
        self._passages = passages

    def answer(self, question: str, passages: list[Passage]) -> Iterator[str]:
        """Yield the answer: up to three cited sentences, or the refusal."""
        chosen = self._choose(question, passages[: self._passages])
        if not chosen:
            yield REFUSAL
            return
        chosen.sort(key=lambda c: (c.passage, c.position))
        yield " ".join(f"{c.text} [{c.passage + 1}]" for c in chosen)

    def condense(self, question: str, history: list[dict[str, str]]) -> str:
        """Without an LLM: the last question asked, then this one, for retrieval."""
        previous = [m["content"] for m in history if m.get("role") == "user"]
        return f"{previous[-1]} {question}" if previous else question

    def _choose(self, question: str, passages: list[Passage]) -> list[_Candidate]:
        if not passages or not numbers(question) <= numbers(" ".join(p.text for p in passages)):
            return []  # a year or figure the documents never mention
        located = [
            (i, pos, p.text[a:b])
            for i, p in enumerate(passages)
            for pos, (a, b) in enumerate(sentence_spans(p.text))
        ]
        query = self._embedder.embed_query(question)
        vectors = self._embedder.embed_documents(
            [f"{passages[i].section or ''}\n{text}" for i, _, text in located]
        )
        scored = [
            _Candidate(i, pos, text, relevance(question, passages[i], text, _dot(query, vector)))
            for (i, pos, text), vector in zip(located, vectors, strict=True)
        ]
        scored = [c for c in scored if fits_question_type(question, c.text)]
        scored.sort(key=lambda c: -c.score)
        if not scored or scored[0].score < MIN_SCORE:
            return []
        floor = max(MIN_SCORE, scored[0].score * KEEP_RATIO)
        return [c for c in scored[:MAX_SENTENCES] if c.score >= floor]


def _dot(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))
