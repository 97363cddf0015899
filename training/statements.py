"""Questions turned into statements: "When was the charter approved?" with the answer
"February 9, 1832" becomes "The charter was approved on February 9, 1832."

SQuAD's questions were written by people rewording a paragraph, so a question's statement is
a paraphrase of the sentence holding its answer: the kind of rewording an LLM's answer makes,
which the copies and synonym swaps of ``judge_data.faithful`` do not teach. The same statement
with another answer of the article is a claim that sentence does not support.

Only the question shapes whose statement a few word moves make are converted (subject
questions, "what is X", "how many N ...", "when/where was X done"); the others give ``None``.
"""

from __future__ import annotations

import re

_AUX = frozenset(
    "is are was were did does do has have had can could will would should may might must "
    "shall".split()
)
_BE = frozenset("is are was were".split())
_IRREGULAR = frozenset(
    "known given seen made taken built written born found held led won sold bought left kept "
    "shown thought brought begun grown drawn chosen spoken broken worn done gone paid said "
    "set put cut run become come eaten fought sent spent told".split()
)
_PREPOSITIONS = frozenset("on of in at by for from to with as into about".split())
_FOLLOWING = _PREPOSITIONS | frozenset("the a an that its their his her this these".split())
_OPENING = frozenset("within near during after before since until around".split())
_DATE = re.compile(
    r"^(January|February|March|April|May|June|July|August|September|October|November|December)"
    r" \d"
)


def _participle(word: str) -> bool:
    w = word.lower()
    return w in _IRREGULAR or (w.endswith("ed") and len(w) > 4)


def _verb_like(word: str, following: str) -> bool:
    """A lowercase word that reads as a verb after a subject: "joined", or "holds" followed by
    "that" or "the" (a plural noun is followed by a verb instead)."""
    if not word[:1].islower() or len(word) < 4:
        return False
    return word.endswith("ed") or (
        word.endswith("s") and not word.endswith("ss") and following.lower() in _FOLLOWING
    )


def _sentence(*parts: str) -> str:
    text = " ".join(p for p in parts if p)
    return text[0].upper() + text[1:] + "."


def statement(question: str, answer: str) -> str | None:
    """The statement that ``question`` answered by ``answer`` makes, or ``None`` where its
    shape is not one converted."""
    words = " ".join(question.strip().rstrip("?").split()).split()
    answer = answer.strip().rstrip(".")
    if len(words) < 3 or not answer or answer.lower() in ("none", "no", "yes"):
        return None
    wh, second, rest = words[0].lower(), words[1], words[2:]
    if wh == "how" and second.lower() == "many" and len(words) > 3:
        noun, tail = words[2], words[3:]
        subject = tail[0].lower() not in _AUX or (len(tail) > 1 and _participle(tail[1]))
        if subject and tail[-1].lower() != "there" and noun.lower() not in answer.lower():
            return _sentence(answer, noun, *tail)
        return None
    if wh in ("who", "what") and second.lower() in _BE:
        if _participle(rest[0]):  # "What was believed to be ...": the subject is asked
            return _sentence(answer, second, *rest)
        if any(_participle(w) for w in rest[:-1]) or rest[-1].endswith("ing"):
            return None
        tail: list[str] = []
        while rest and rest[-1].lower() in _PREPOSITIONS:
            tail.insert(0, rest.pop())
        if rest and _participle(rest[-1]):  # "What is X called?"
            tail.insert(0, rest.pop())
        elif tail:
            return None
        if len(rest) < 2:
            return None
        return _sentence(*rest, second, *tail, answer)
    if wh in ("who", "what") and second.lower() not in _AUX:
        return _sentence(answer, *words[1:]) if _verb_like(second, words[2]) else None
    if wh in ("which", "what") and len(words) > 4:
        for n in (1, 2):  # "Which river joins ...", "What political party won ..."
            noun, verb = words[1 : 1 + n], words[1 + n]
            if not all(w[:1].islower() and w not in _AUX | _PREPOSITIONS for w in noun):
                continue
            if verb.lower() in _AUX:
                passive = verb.lower() in _BE and _participle(words[2 + n])
                return _sentence(answer, *words[1 + n :]) if passive else None
            if _verb_like(verb, words[2 + n]):
                return _sentence(answer, *words[1 + n :])
        return None
    if wh in ("when", "where") and second.lower() in _BE and len(rest) > 2:
        if answer.split()[0].lower() in _PREPOSITIONS | _OPENING:
            return None
        where = "on" if _DATE.match(answer) else "in"
        if _participle(rest[-1]):
            return _sentence(*rest[:-1], second, rest[-1], where, answer)
        if wh == "where":
            return _sentence(*rest, second, where, answer)
    return None
