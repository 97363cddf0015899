"""Questions that ask for a time or an amount, and the words of a sentence that answer them.

"When ...?", "In which month ...?" want a time; "How many ...?", "What share ...?" a number.
A verified answer's quote that holds exactly one gives the short answer (``short_answer``:
"March").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from askdef.text import NUMBER, UNIT, content_words, normalize

Kind = Literal["time", "number"]

_WANTS_TIME = re.compile(r"^\s*when\b|\b(what|which) (year|month|decade|century|date|time)\b", re.I)
_WANTS_NUMBER = re.compile(
    r"^\s*(how (many|much|long|far|old)|what (percentage|share|number|proportion)"
    # "What is the hotel limit per night?": an amount by its name
    r"|what (is|are|was|were) the( \S+){0,3} (limit|maximum|minimum|cap|amount|cost|price"
    r"|rate|fee|allowance|budget|salary|wage|total)s?)\b",
    re.I,
)
# Month names are matched capitalised only: lower-case "may" is a verb.
_MONTH = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December)"
)
_YEAR = r"(?:1[5-9]\d\d|20\d\d)"
_TIME = re.compile(
    rf"\b(?:(?:[Ee]arly|[Mm]id|[Ll]ate)[- ])?(?:(?:\d{{1,2}} )?{_MONTH}(?: \d{{1,2}}\b)?"
    rf"(?:,? {_YEAR})?|{_YEAR}s?)\b"
)
_CLAUSE_ENDS = (",", ";", ":", "(", ")", " - ", "\u2013", "\u2014")  # and en and em dashes
_CURRENCY = r"(?:euros?|dollars?|pounds?|yen|yuan|francs?|kronor|krona|rupees?|cents?)"
# An amount as people write it: a number (``askdef.text.NUMBER``) with its unit when one
# follows: "$5 billion", "2%", "12 weeks", "six months".
_AMOUNT = re.compile(
    rf"[$€£¥]?\b{NUMBER}\b(?: ?%| per ?cent\b)?"
    r"(?: (?:hundred|thousand|million|billion|trillion)\b)?"
    rf"(?: (?:{UNIT}|{_CURRENCY})\b)?",
    re.I,
)


def asks_for(question: str) -> set[Kind]:
    """What ``question`` asks for: a time, a number, both ("What share ..., and by which
    year?") or neither (an empty set)."""
    kinds: set[Kind] = set()
    if _WANTS_TIME.search(question):
        kinds.add("time")
    if _WANTS_NUMBER.search(question):
        kinds.add("number")
    return kinds


def _matches(kind: Kind, text: str) -> list[re.Match[str]]:
    return list((_TIME if kind == "time" else _AMOUNT).finditer(text))


def _names(text: str, words: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(words)}(?!\w)", text) is not None


def short_answer(question: str, answer: str, quotes: Sequence[str]) -> str | None:
    """The time or number ``question`` asks for, as written in the first of ``quotes`` (the
    verified quotes of ``answer``, in answer order) that holds one the question does not name,
    with its unit or currency, unless another quote holds every question word it holds and more
    (``_subject``): that one is about the subject asked, this one about its neighbour
    (twenty-five days for full-time staff, when the question and the next quote are about
    part-time staff).
    Of several in that quote, the one ``answer`` also states, else the one whose clause holds
    the most of the question's words ("deals signed in March, investments up to 2025"). None
    when the question asks for neither, or which one is meant stays a guess."""
    kinds = asks_for(question)
    if len(kinds) != 1:  # two answers are wanted, or none of these kinds
        return None
    (kind,) = kinds
    said = normalize(answer)
    held = [_subject(kind, question, quote) for quote in quotes]
    for i, quote in enumerate(quotes):
        if any(words > held[i] for words in held):  # another quote says it of a closer subject
            continue  # (full-time staff's days, when the next quote is about part-time staff)
        asked = normalize(question)  # a time or number the question names is not its answer
        found = [m for m in _matches(kind, quote) if not _names(asked, normalize(m.group(0)))]
        if not found:
            continue
        if len(_distinct(found)) > 1:
            found = [m for m in found if _names(said, normalize(m.group(0)))] or found
            found = _best_placed(question, quote, found)
        return found[0].group(0) if len(_distinct(found)) == 1 else None
    return None


def _subject(kind: Kind, question: str, quote: str) -> set[str]:
    """The question's words ``quote`` holds, apart from those of the times or numbers in it
    ("days" of "twenty-five days"): what it says the quantity is of."""
    amounts = " ".join(m.group(0) for m in _matches(kind, quote))
    return (content_words(question) & content_words(quote)) - content_words(amounts)


def _distinct(found: list[re.Match[str]]) -> set[str]:
    return {normalize(m.group(0)) for m in found}


def _best_placed(question: str, quote: str, found: list[re.Match[str]]) -> list[re.Match[str]]:
    """Of ``found``, those whose clause holds the most of ``question``'s words (all, if none)."""
    asked = content_words(question)
    shared = [len(asked & content_words(_clause(quote, m))) for m in found]
    best = max(shared)
    return [m for m, n in zip(found, shared, strict=True) if n == best] if best else found


def _clause(text: str, m: re.Match[str]) -> str:
    start = max(text.rfind(p, 0, m.start()) for p in _CLAUSE_ENDS) + 1
    ends = [i for i in (text.find(p, m.end()) for p in _CLAUSE_ENDS) if i >= 0]
    return text[start : min(ends, default=len(text))]
