"""Sentence splitting and content-word matching for the verifier and the extractive generator."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator
from collections.abc import Set as AbstractSet

_SENTENCE = re.compile(r"[^.!?]+(?:[.!?]+[\"”’')\]]*|$)")
_ABBREVIATION = re.compile(r"\b(?:[A-Za-z]|etc|vs|Mr|Ms|Mrs|Dr|St|No|Inc|Ltd|Co)\.$")
WORD = re.compile(r"[\w%$€£¥]+(?:[-'’][\w]+)*")
_NUMBER = re.compile(r"\d[\d,.]*\d|\d")
STOPWORDS = frozenset(
    (
        "a an and are as at be been but by can could did do does for from had has have how i if "
        "in into is it its itself me more most my no not of on or our out over own so such than "
        "that the their them then there these they this those through to too under up very was "
        "we were what when where which while who whom why will with would you your about also "
        "any both each few just may might must other same should some only all do he she his "
        "her him its being having doing because until against between during before after "
        "above below off again further once here whose"
    ).split()
)


def sentence_spans(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each sentence in ``text``, trimmed of surrounding whitespace.

    Linear in the length of ``text``: each step looks only at the piece it just read."""
    start = None
    for match in _SENTENCE.finditer(text):
        if start is None:
            start = match.start()
        end = match.end()
        while end > start and text[end - 1].isspace():
            end -= 1
        if match.end() < len(text) and (
            # the longest abbreviation is 3 letters and a stop: 8 characters hold its boundary
            _ABBREVIATION.search(text[max(start, end - 8) : end]) or not text[match.end()].isspace()
        ):
            continue  # "U.S.", "e.g." and "2.5" do not end a sentence
        left = start
        while left < end and text[left].isspace():
            left += 1
        if left < end:
            yield left, end
        start = None


def normalize(text: str) -> str:
    """Case-folded, quote-folded, whitespace-collapsed text for verbatim comparisons."""
    text = unicodedata.normalize("NFKC", text)
    text = text.translate(str.maketrans("‘’“”–—", "''\"\"--"))
    return " ".join(text.casefold().split())


@functools.cache
def _stemmer():  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("english")


def content_words(text: str) -> set[str]:
    """Stemmed words of ``text`` that carry meaning (stopwords dropped)."""
    words = [w for w in WORD.findall(normalize(text)) if w not in STOPWORDS]
    return set(_stemmer().stemWords(words))


def names(text: str) -> list[str]:
    """Capitalised words of the sentence ``text`` after its first word, and its first word
    when in capitals (``NATO``): the names it states (``Eurofighter``, ``Typhoon``), which a
    paragraph backing it must mention too. (A first word in capitals is no sentence-case
    artefact: a small model once opened a cited sentence with a document's injected "HACKED".)"""
    words = WORD.findall(text)
    first = words[:1] if words and len(words[0]) > 1 and words[0].isupper() else []
    return first + [w for w in words[1:] if w[0].isupper()]


# A people or language word and the place it comes from: "Asian" / "Asia", "Japanese" / "Japan".
_DEMONYMS = (
    ("ese", ("", "a")),
    ("ian", ("ia", "y", "")),
    ("ean", ("e", "ea")),
    ("an", ("a", "")),
    ("i", ("",)),
)


def name_stems(name: str) -> set[str]:
    """The stems under which a text may mention the name ``name``: its own, and for a
    demonym the place's ("Asian" is mentioned where a text says "Asia")."""
    word = normalize(name)
    stems = content_words(word)
    for suffix, places in _DEMONYMS:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: -len(suffix)]
            stems |= {stem for place in places for stem in content_words(base + place)}
    return stems


def mentions(words: AbstractSet[str], name: str) -> bool:
    """Whether a text whose ``content_words`` are ``words`` mentions the name ``name``
    (always, for a capitalised stopword such as "The")."""
    stems = name_stems(name)
    return not stems or not stems.isdisjoint(words)


def numbers(text: str) -> set[str]:
    """Numbers written in ``text`` (``2%``, ``2027``, ``1,000``), without separators."""
    return {n.replace(",", "").rstrip(".") for n in _NUMBER.findall(text)}
