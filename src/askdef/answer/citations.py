"""Citation verification: every ``[n]`` shown must point at a retrieved paragraph that states
what its sentence says.

A sentence is *supported* by a paragraph span when the span entails it
(``askdef.answer.entailment``): it repeats one or two whole sentences of the paragraph word for
word, or the judge says the span states it. The span judged is the one or two sentences of the
paragraph that share most of the sentence's content words (stemmed, stopwords dropped); a
paragraph sharing none of them is not asked about. Names, numbers or a stutter the paragraph
lacks are the judge's to find: a rule for each, once checked first, rejected nothing the judge let
through (measured on the perturbation suite). The span is the citation's verbatim quote.

Markers that fail are dropped and counted, and a sentence whose every marker failed goes with
them (it claimed a source that does not state it). A sentence without markers is shown only
when a retrieved paragraph entails it (one whose span holds ``UNSOURCED_OVERLAP`` of its
words), and then cites that paragraph; anything else is removed,
whatever it says (a document may have told the model to write it). Removed sentences are
listed with the reason. Markers are renumbered by first appearance, one number per paragraph.
"""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from askdef.answer.claims import Claim, parse_claims
from askdef.answer.entailment import Judge, verbatim_span
from askdef.errors import GenerationError
from askdef.text import content_words, sentence_spans
from askdef.types import Citation, Passage

# Least share of an unmarked sentence's content words a passage's span must hold to be judged:
# without it, the unmarked perturbation suite asked the judge about 345 pairs instead of 206,
# with the same verdicts (docs/answers.md, "Every tuned rule, on and off").
UNSOURCED_OVERLAP = 0.5


@dataclass(frozen=True)
class Support:
    """How well a paragraph span covers a claim."""

    score: float
    start: int  # offsets within the paragraph text
    end: int


@functools.lru_cache(maxsize=256)
def _span_words(paragraph: str) -> tuple[tuple[int, int, frozenset[str]], ...]:
    """Each one- or two-sentence span of a paragraph with its content words: worked out once
    for all the claims compared with it."""
    spans = list(sentence_spans(paragraph)) or [(0, len(paragraph))]
    candidates = spans + [(a[0], b[1]) for a, b in itertools.pairwise(spans)]
    return tuple((a, b, frozenset(content_words(paragraph[a:b]))) for a, b in candidates)


def best_support(claim: Claim, paragraph: str) -> Support:
    """The one- or two-sentence span of ``paragraph`` that best covers ``claim``."""
    words = claim.words
    if not words:
        return Support(0.0, 0, 0)
    best = Support(0.0, 0, 0)
    for start, end, in_span in _span_words(paragraph):
        score = len(words & in_span) / len(words)
        # prefer the shorter span on ties: single sentences come first in the list
        if score > best.score:
            best = Support(score, start, end)
    return best


Reason = Literal["unsupported", "unsourced", "unchecked"]


@dataclass(frozen=True)
class Removed:
    """A sentence of the answer that is not shown: its cited paragraphs do not state it
    (``unsupported``), it cites nothing and no retrieved paragraph states it (``unsourced``),
    or the judge failed (``unchecked``)."""

    sentence: str
    reason: Reason


@dataclass
class Verified:
    """The answer text with only verified markers, what they cite, and what was removed."""

    text: str
    citations: list[Citation] = field(default_factory=list)
    dropped: int = 0
    removed: list[Removed] = field(default_factory=list)
    judge_error: str | None = None


class Entailment:
    """The judge's checks for one answer. A sentence is entailed by a paragraph span that it
    copies word for word, or that ``judge`` scores at least ``threshold`` (default: the judge's
    own; without a judge only copies are). Each pair is judged once, however often the answer
    is re-verified; after the judge's first failure the rest is unchecked (``error``)."""

    def __init__(self, judge: Judge | None = None, threshold: float | None = None) -> None:
        self.judge = judge
        self.threshold = threshold if threshold is not None else judge.entailed if judge else 1.0
        self.error: str | None = None
        self.seconds = 0.0  # spent judging
        self._seen: dict[tuple[str, str], Support | None] = {}
        self._answers: dict[tuple[str, tuple[str, ...]], float | None] = {}

    def support(self, claim: Claim, paragraph: str, *, overlap: float = 0.0) -> Support | None:
        """The span of ``paragraph`` that entails ``claim``, if any; a span holding less than
        ``overlap`` of its content words, or none of them, is not judged."""
        key = (claim.text, paragraph)
        if key not in self._seen:
            self._seen[key] = self._support(claim, paragraph, overlap)
        return self._seen[key]

    def answerability(self, question: str, quotes: list[str]) -> float | None:
        """The judge's probability that ``quotes`` answer ``question``; None without a judge."""
        key = (question, tuple(quotes))
        if key not in self._answers:
            premise = " ".join(dict.fromkeys(quotes))
            self._answers[key] = self._ask(lambda j: j.answers(premise, question))
        return self._answers[key]

    def _support(self, claim: Claim, paragraph: str, overlap: float) -> Support | None:
        copied = verbatim_span(claim.text, paragraph)
        if copied is not None:
            return Support(1.0, *copied)
        best = best_support(claim, paragraph)
        if best.score == 0 or best.score < overlap:
            return None
        p = self._ask(lambda j: j.entailment(paragraph[best.start : best.end], claim.text))
        return best if p is not None and p >= self.threshold else None

    def _ask(self, question: Callable[[Judge], float]) -> float | None:
        if self.judge is None or self.error is not None:
            return None
        started = time.perf_counter()
        try:
            return question(self.judge)
        except GenerationError as exc:
            self.error = str(exc)
            return None
        finally:
            self.seconds += time.perf_counter() - started


def verify(
    answer: str | Sequence[Claim], passages: list[Passage], entail: Entailment | None = None
) -> Verified:
    """Keep the markers whose paragraph entails their sentence (``entail``; by default only
    verbatim copies are) and the sentences left with one; renumber the markers. ``answer`` is
    the answer's claims, or its text to parse into them."""
    claims = parse_claims(answer) if isinstance(answer, str) else answer
    result = Verified(text="")
    entail = entail or Entailment()
    numbering: dict[int, int] = {}  # passage index -> shown marker
    seen_quotes: set[tuple[int, int, int]] = set()
    sentences: list[str] = []
    for claim in claims:
        cited = claim.markers
        supported: list[tuple[int, Support]] = []
        for n in dict.fromkeys(cited):
            ok = 1 <= n <= len(passages)
            support = entail.support(claim, passages[n - 1].text) if ok else None
            if support is not None:
                supported.append((n - 1, support))
            else:
                result.dropped += 1
        if not cited:
            supported = _sourced(claim, passages, entail)
        if not supported:
            reason: Reason = "unsupported" if cited else "unsourced"
            result.removed.append(Removed(claim.text, "unchecked" if entail.error else reason))
            continue
        markers = []
        for i, support in supported:
            shown = numbering.setdefault(i, len(numbering) + 1)
            markers.append(f"[{shown}]")
            if (i, support.start, support.end) in seen_quotes:
                continue
            seen_quotes.add((i, support.start, support.end))
            p = passages[i]
            result.citations.append(
                Citation(
                    n=shown,
                    doc_id=p.doc_id,
                    paragraph=p.paragraph,
                    quote=p.text[support.start : support.end],
                    start=p.start + support.start,
                    end=p.start + support.end,
                    page=p.page,
                )
            )
        sentences.append(_attach(claim.text, "".join(markers)))
    result.text = " ".join(sentences)
    result.citations.sort(key=lambda c: (c.n, c.start))
    result.judge_error = entail.error
    return result


def _sourced(
    claim: Claim, passages: list[Passage], entail: Entailment
) -> list[tuple[int, Support]]:
    """The first passage, by the share of an unmarked ``claim``'s words it holds, that entails
    it (small models forget markers), as a one-item list; empty when none does."""
    ranked = sorted(
        range(len(passages)), key=lambda i: -best_support(claim, passages[i].text).score
    )
    for i in ranked:
        support = entail.support(claim, passages[i].text, overlap=UNSOURCED_OVERLAP)
        if support is not None:
            return [(i, support)]
    return []


def _attach(claim: str, markers: str) -> str:
    """Put markers before the sentence's final punctuation: ``... 2027 [1].``"""
    if not markers:
        return claim
    body = claim.rstrip()
    stop = len(body) - len(body.rstrip(".!?"))
    return f"{body[: len(body) - stop]} {markers}{body[len(body) - stop :]}"
