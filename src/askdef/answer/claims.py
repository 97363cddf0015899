"""An answer's claims: its sentences, each with the markers that cite it, parsed once.

The citation verifier, the removal notices and the evaluation's precision judge read these
claims instead of re-splitting the answer; a sentence the answer path adds later (the
sentence after a lead-in) is parsed on its own and appended. A claim's content words are
worked out on first use and kept, however many paragraphs it is compared with.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from askdef.text import content_words, sentence_spans

MARKERS = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")
LEADING_MARKERS = re.compile(r"(?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])+")


@dataclass(frozen=True)
class Claim:
    """One sentence of an answer, markers removed, and the marker numbers that cite it."""

    text: str
    markers: tuple[int, ...] = ()

    @functools.cached_property
    def words(self) -> frozenset[str]:
        """Its stemmed content words (``askdef.text.content_words``)."""
        return frozenset(content_words(self.text))


def parse_claims(text: str) -> list[Claim]:
    """Each sentence of ``text`` with the marker numbers that follow or sit inside it
    ("Sentence. [2] Next one." gives [2] to the sentence before the marker)."""
    out: list[tuple[str, list[int]]] = []
    for start, end in sentence_spans(text):
        piece = text[start:end]
        leading = LEADING_MARKERS.match(piece)
        if leading and out:
            out[-1][1].extend(_numbers_in(leading.group(0)))
            piece = piece[leading.end() :]
        claim = MARKERS.sub("", piece).strip()
        if claim.strip(" ."):
            out.append((claim, _numbers_in(piece)))
    return [Claim(claim, tuple(markers)) for claim, markers in out]


def _numbers_in(text: str) -> list[int]:
    return [int(n) for group in MARKERS.findall(text) for n in re.split(r"[,;]", group)]
