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
_DURATION_UNIT = (
    r"(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?|decades?|centur(?:y|ies))"
)
UNIT = (
    rf"(?:{_DURATION_UNIT}|times|percent|per ?cent|kilometers?|kilometres?|miles?|meters?|"
    r"metres?|people|members|employees)"
)
_ONES = "one two three four five six seven eight nine".split()
_TEENS = "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_WORD_VALUES = {
    **{w: i for i, w in enumerate(_ONES, 1)},
    **{w: i for i, w in enumerate(_TEENS, 10)},
    **{w: 10 * i for i, w in enumerate(_TENS, 2)},
    "a hundred": 100,
    "a thousand": 1000,
    "a dozen": 12,
}
NUMBER_WORD = (
    rf"(?:{'|'.join(_TEENS + _TENS + _ONES)}|a hundred|a thousand|a dozen)"
    rf"(?:-(?:{'|'.join(_ONES)}))?"
)
# Digits, or a number word before a unit ("six months", "twelve weeks"): a bare "one" is as
# often a pronoun ("one of the largest") as a count.
_NUMBER = re.compile(rf"\d[\d,.]*\d|\d|\b{NUMBER_WORD}(?= {UNIT}\b)", re.I)
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


_FOLDED = str.maketrans("‘’“”–—", "''\"\"--")


def normalize(text: str) -> str:
    """Case-folded, quote-folded, whitespace-collapsed text for verbatim comparisons."""
    text = unicodedata.normalize("NFKC", text)
    text = text.translate(_FOLDED)
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
    """Capitalised words of the sentence ``text`` after its first word (which is capitalised
    anyway): the names it states (``Eurofighter``, ``Typhoon``)."""
    return [w for w in WORD.findall(text)[1:] if w[0].isupper()]


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
    """Numbers written in ``text`` (``2%``, ``2027``, ``1,000``, ``twelve weeks``) as digits
    without separators: "twelve weeks" and "12 weeks" state the same number."""
    return {number_value(n) for n in _NUMBER.findall(text)}


def number_value(written: str) -> str:
    """The digits of a number as written: ``1,000`` gives ``1000``, ``twenty-one`` ``21``."""
    word = written.casefold()
    if word[:1].isdigit():
        return written.replace(",", "").rstrip(".")
    tens, _, ones = word.partition("-")
    return str(_WORD_VALUES[tens] + (_WORD_VALUES[ones] if ones else 0))
