"""The words and numbers a corpus holds, and how many of its texts hold each word."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from askdef.text import content_words, numbers


@dataclass(frozen=True)
class Vocabulary:
    """The content words and numbers a corpus holds, to tell what it never mentions, and in
    how many of its texts each word occurs, to tell how much a shared word says."""

    numbers: frozenset[str]
    frequency: Mapping[str, int]  # stemmed content word -> texts holding it
    texts: int

    @property
    def words(self) -> AbstractSet[str]:
        """Every content word (stemmed) the corpus holds."""
        return self.frequency.keys()

    @classmethod
    def of(cls, texts: Iterable[str]) -> Vocabulary:
        """The vocabulary of ``texts`` (a corpus's paragraphs, each with its section)."""
        frequency: Counter[str] = Counter()
        found: set[str] = set()
        count = 0
        for text in texts:
            frequency.update(content_words(text))
            found |= numbers(text)
            count += 1
        return cls(frozenset(found), dict(frequency), count)

    def weight(self, word: str) -> float:
        """The smoothed inverse document frequency of the stemmed ``word``, 1 + ln((N + 1) /
        (n + 1)) for n of N texts: a word of every paragraph ("defense" in a defense corpus)
        weighs 1, a rare one up to 1 + ln(N + 1), as does one the corpus never uses (a
        question about it is less likely answered here). (Measured: BM25's weights, near 0
        for the commonest words, refused 4 more bundled questions in the extractive eval.)"""
        n = self.frequency.get(word, 0)
        return 1 + math.log((self.texts + 1) / (n + 1))
