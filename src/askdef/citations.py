"""Citation verification: every ``[n]`` shown must point at a retrieved paragraph that supports it.

A sentence is *supported* by a paragraph when the paragraph holds every number and every name
(capitalised word after the first, or a first word in capitals) the sentence states, and a
span of one or two of its sentences covers at least ``SUPPORT`` of the sentence's content
words (stemmed, stopwords dropped). That span is the citation's verbatim quote. A sentence
that repeats one word three times in a row ("March March March") is supported by nothing: it
is a model stuck in a loop.
Markers that fail are dropped and counted, and a sentence whose every marker failed goes with
them (it claimed a source that does not back it). A sentence without markers gets a citation
only when one retrieved paragraph covers it strongly (``AUTO_SUPPORT``): small models forget them.
Markers are renumbered by first appearance, one number per paragraph.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from askdef.text import content_words, mentions, names, numbers, sentence_spans
from askdef.types import Citation, Passage

SUPPORT = 0.5
AUTO_SUPPORT = 0.75
MARKERS = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")
LEADING_MARKERS = re.compile(r"(?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])+")
_STUTTER = re.compile(r"\b(\w+)(?:\W+\1\b){2}", re.IGNORECASE)


@dataclass(frozen=True)
class Support:
    """How well a paragraph span covers a claim."""

    score: float
    start: int  # offsets within the paragraph text
    end: int


def best_support(claim: str, paragraph: str) -> Support:
    """The one- or two-sentence span of ``paragraph`` that best covers ``claim``."""
    words = content_words(claim)
    if not words or _STUTTER.search(claim) or not numbers(claim) <= numbers(paragraph):
        return Support(0.0, 0, 0)
    in_paragraph = content_words(paragraph)
    if not all(mentions(in_paragraph, name) for name in names(claim)):
        return Support(0.0, 0, 0)  # a name the paragraph never mentions: not from it
    spans = list(sentence_spans(paragraph)) or [(0, len(paragraph))]
    candidates = spans + [(a[0], b[1]) for a, b in itertools.pairwise(spans)]
    best = Support(0.0, 0, 0)
    for start, end in candidates:
        score = len(words & content_words(paragraph[start:end])) / len(words)
        # prefer the shorter span on ties: single sentences come first in the list
        if score > best.score:
            best = Support(score, start, end)
    return best


@dataclass
class Verified:
    """The answer text with only verified markers, and what they cite."""

    text: str
    citations: list[Citation] = field(default_factory=list)
    dropped: int = 0


def sentences_with_markers(text: str) -> list[tuple[str, list[int]]]:
    """Each sentence of ``text`` with the marker numbers that follow or sit inside it."""
    out: list[tuple[str, list[int]]] = []
    for start, end in sentence_spans(text):
        piece = text[start:end]
        leading = LEADING_MARKERS.match(piece)
        if leading and out:  # "Sentence. [2] Next one." puts [2] after the stop it belongs to
            out[-1][1].extend(_numbers_in(leading.group(0)))
            piece = piece[leading.end() :]
        claim = MARKERS.sub("", piece).strip()
        if claim.strip(" ."):
            out.append((claim, _numbers_in(piece)))
    return out


def _numbers_in(text: str) -> list[int]:
    return [int(n) for group in MARKERS.findall(text) for n in re.split(r"[,;]", group)]


def verify(text: str, passages: list[Passage]) -> Verified:
    """Drop markers that cite nothing retrieved or an unsupporting paragraph; renumber the rest."""
    result = Verified(text="")
    numbering: dict[int, int] = {}  # passage index -> shown marker
    seen_quotes: set[tuple[int, int, int]] = set()
    sentences: list[str] = []
    for claim, cited in sentences_with_markers(text):
        supported: list[tuple[int, Support]] = []
        for n in dict.fromkeys(cited):
            support = best_support(claim, passages[n - 1].text) if 1 <= n <= len(passages) else None
            if support is not None and support.score >= SUPPORT:
                supported.append((n - 1, support))
            else:
                result.dropped += 1
        if not cited:
            auto = max(
                ((i, best_support(claim, p.text)) for i, p in enumerate(passages)),
                key=lambda pair: pair[1].score,
                default=None,
            )
            if auto is not None and auto[1].score >= AUTO_SUPPORT:
                supported.append(auto)
        if cited and not supported:
            continue  # it claimed sources that do not back it: not shown at all
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
                )
            )
        sentences.append(_attach(claim, "".join(markers)))
    result.text = " ".join(sentences)
    result.citations.sort(key=lambda c: (c.n, c.start))
    return result


def _attach(claim: str, markers: str) -> str:
    """Put markers before the sentence's final punctuation: ``... 2027 [1].``"""
    if not markers:
        return claim
    body = claim.rstrip()
    stop = len(body) - len(body.rstrip(".!?"))
    return f"{body[: len(body) - stop]} {markers}{body[len(body) - stop :]}"
