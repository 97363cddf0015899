"""askdef's one language layer: sentences, words and numbers, for every stage.

One sentence splitter (``sentence_spans``, ``sentence_pieces``) serves chunking, the stored
sentence vectors, the rerank and the verifier; one tokeniser (``words``, ``terms``,
``content_words``) serves BM25, the rerank, the corpus vocabulary and the verifier; so each
scorer sees the same sentences and the same words.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import unicodedata
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import TYPE_CHECKING, Any

from askdef.errors import ModelError

if TYPE_CHECKING:
    from nltk.tokenize.punkt import PunktSentenceTokenizer

# A word: letters or digits (with a currency or percent sign), joined across "-" and "'".
# Split at "-", BM25 alone gained on SciFact (300 claims, nDCG@10 0.694 vs 0.673) but the
# rerank's word weights moved one bundled answer under MIN_SCORE (eval/questions.jsonl coverage
# 0.876 vs 0.892; squad2 0.784 vs 0.776): kept joined, as the verifier always had it.
WORD = re.compile(r"[\w%$€£¥]+(?:[-'’][\w]+)*")
# Abbreviations the packaged English Punkt model lacks, which askdef's corpora use before a
# lower-case word or a number ("e.g. in", "etc. for", "No. 5"): without them Punkt splits there.
_ABBREVIATIONS = ("e.g", "i.e", "etc", "no")  # the rest of the list it replaced: in the model
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
# A number: digits, or a number word before a unit ("six months", "twelve weeks"): a bare
# "one" is as often a pronoun ("one of the largest") as a count. ``question_type`` builds its
# amounts (with units and currencies) on it.
NUMBER = rf"(?:\d(?:[\d,.]*\d)?|\b{NUMBER_WORD}(?= {UNIT}\b))"
_NUMBER = re.compile(NUMBER, re.I)
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


def _nltk_cache() -> Path:
    """The nltk data llama-index packages in its own wheel, for its ``SentenceSplitter``."""
    spec = importlib.util.find_spec("llama_index.core")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "_static" / "nltk_cache"


@functools.cache
def _punkt() -> PunktSentenceTokenizer:
    """nltk's Punkt sentence tokenizer with its trained English model: the data llama-index
    packages in its own wheel (``_nltk_cache``), so nothing is downloaded. (llama-index itself
    builds an untrained ``PunktSentenceTokenizer()``, which ends a sentence at "U.S." and
    "Mr.".) ``ModelError`` when that data is missing."""
    import nltk.data
    from nltk.tokenize.punkt import PunktSentenceTokenizer, load_punkt_params

    cache = str(_nltk_cache())
    # nltk reads only under its search path (llama-index adds the same folder to it); ``find``
    # never downloads
    if cache not in nltk.data.path:
        nltk.data.path.append(cache)
    try:
        params = load_punkt_params(nltk.data.find("tokenizers/punkt_tab/english/"))
    except (LookupError, OSError) as exc:  # nltk's own message is a page on downloading it
        raise ModelError(
            "The sentence splitter's data (nltk's English Punkt model, packaged in "
            f"llama-index-core's wheel under {cache}) is missing: reinstall it with "
            "`pip install --force-reinstall --no-deps llama-index-core`."
        ) from exc
    params.abbrev_types.update(_ABBREVIATIONS)
    return PunktSentenceTokenizer(params)


def sentence_spans(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each sentence in ``text``, trimmed of surrounding whitespace."""
    spans = iter(_punkt().span_tokenize(text))
    for start, end in spans:
        # "![" opens a Markdown image, not an exclamation: Punkt ends a sentence at its "!"
        while text.startswith("![", end - 1) and (after := next(spans, None)) is not None:
            end = after[1]
        while end > start and text[end - 1].isspace():
            end -= 1
        while start < end and text[start].isspace():
            start += 1
        if start < end:
            yield start, end


def sentence_pieces(text: str) -> list[str]:
    """``text`` cut before each sentence, every character kept (so the pieces join back to
    ``text``): how chunking (llama-index's ``SentenceSplitter``) splits a long paragraph."""
    starts = [a for a, _ in sentence_spans(text)][1:]
    return [text[a:b] for a, b in zip([0, *starts], [*starts, len(text)], strict=True) if a < b]


_FOLDED = str.maketrans("‘’“”–—", "''\"\"--")


def normalize(text: str) -> str:
    """Case-folded, quote-folded, whitespace-collapsed text for verbatim comparisons."""
    text = unicodedata.normalize("NFKC", text)
    text = text.translate(_FOLDED)
    return " ".join(text.casefold().split())


@functools.cache
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    """The words of ``text``, normalised (``normalize``), in order."""
    return WORD.findall(normalize(text))


def terms(text: str) -> list[str]:
    """The stemmed words of ``text`` that carry meaning (stopwords dropped), in order and with
    repeats: what BM25 counts."""
    stemmed: list[str] = _stemmer().stemWords([w for w in words(text) if w not in STOPWORDS])
    return stemmed


def content_words(text: str) -> set[str]:
    """The distinct ``terms`` of ``text``: what the rerank, the vocabulary and the verifier
    compare."""
    return set(terms(text))


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
