"""The steps an answer goes through after generation, each a unit with its notice.

A *draft* is what has been said so far: its claims, the generator that said them and the
notices so far. The *checks* turn a draft into the ``Answer`` shown, and run again on every
draft; the *revisions* may each change the draft once. ``askdef.answer.pipeline`` names both
lists in order (``CHECKS``, ``STEPS``); docs/answers.md gives each step's measurements.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import ClassVar, Protocol

from askdef.answer.citations import Entailment, Reason, Verified
from askdef.answer.claims import Claim, parse_claims
from askdef.answer.generation import Generator
from askdef.answer.lead_in import continuations
from askdef.answer.relevance import FollowUp
from askdef.safe_output import plain
from askdef.text import normalize
from askdef.types import Answer, Fallback, Passage

_REFUSING = re.compile(
    r"\b(do(es)? not|don't|doesn't|cannot|can't|could not|unable to)\b.{0,40}\b"
    r"(contain|answer|find|provide|mention|include|say|state|know)"
)


@dataclass(frozen=True)
class Context:
    """One question's fixed inputs, which every step may read."""

    question: str
    query: str  # what was searched: the question, or a follow-up condensed
    passages: list[Passage]
    generator: Generator  # the one the settings chose
    fallback: Generator | None
    entail: Entailment  # the judge, each sentence judged once however often re-checked
    answer_threshold: float
    unmentioned: bool = False  # refused before generation: it names what the corpus lacks


@dataclass(frozen=True)
class Draft:
    """What has been said so far, by whom, and what the user is told about it."""

    claims: list[Claim]
    generator: Generator
    notices: list[str]


@dataclass(frozen=True)
class Checked:
    """A draft's verified claims as the checks leave them; ``refused`` hides them."""

    verified: Verified
    notices: list[str]
    refused: bool
    answerability: float | None = None


@dataclass(frozen=True)
class Revision:
    """A revised draft and the answer it checks out to; ``fallback`` when it replaces the
    draft (what streamed is void), None when it adds to it. The pipeline streams its text."""

    draft: Draft
    answer: Answer
    fallback: Fallback | None = None


class Check(Protocol):
    """Judges a checked draft: may add notices or refuse it."""

    def __call__(self, checked: Checked, ctx: Context) -> Checked: ...


class Step(Protocol):
    """Revises a draft (``check`` tells what a draft checks out to), or returns None."""

    notice: str

    def __call__(
        self, draft: Draft, answer: Answer, ctx: Context, check: Callable[[Draft], Answer]
    ) -> Revision | None: ...


class ReportRemovals:
    """Tells the user how many sentences are not shown and why (``Removed.reason``); a
    sentence saying the documents lack the answer is not counted: it is no claim about them."""

    notices: ClassVar[dict[Reason, str]] = {
        "unsupported": "Removed {n} that the cited paragraphs do not state (they contradict them "
        "or add to them).",
        "unsourced": "Removed {n} without a source: no retrieved paragraph states them.",
        "unchecked": "Removed {n} that could not be checked against the documents: {error}",
    }

    def __call__(self, checked: Checked, ctx: Context) -> Checked:
        counts = Counter(
            r.reason for r in checked.verified.removed if not looks_like_refusal(r.sentence)
        )
        error = checked.verified.judge_error
        said = [
            plain(notice.format(n=_sentences(counts[reason]), error=error))  # may quote an LLM
            for reason, notice in self.notices.items()
            if counts[reason]
        ]
        return replace(checked, notices=[*checked.notices, *said])


class JudgeAnswered:
    """Refuses an answer whose quotes the judge scores below ``Context.answer_threshold`` as
    answering the question (true sentences about a neighbouring fact), quoting what the
    documents say instead. A follow-up is answered when its quotes answer either its
    standalone query or the words typed: "Where could military research benefit citizens? What
    might academic institutions gain?" is two questions, and a quote answers only the second
    (measured on ``eval/conversations.jsonl``, docs/answers.md). Quotes that only repeat the
    previous answer must answer the words typed: the standalone query still holds the question
    they answered, so "Can I claim my internet costs as well?" after the home office allowance
    would otherwise be answered with the allowance again."""

    notice = (
        "The passages found are about this question's subject but do not answer what it asks "
        "(judged by the {judge} model), so no answer is shown. The closest the documents come: "
        '"{quote}" ({ref}).'
    )

    def __call__(self, checked: Checked, ctx: Context) -> Checked:
        cited = sorted(checked.verified.citations, key=lambda c: c.n)
        if not cited:
            return checked
        answerability = judged_answerability([c.quote for c in cited], ctx)
        judge = ctx.entail.judge
        if answers(answerability, ctx) or judge is None:
            return replace(checked, answerability=answerability)
        closest = cited[0]  # what the answer led with
        quote = plain(" ".join(closest.quote.split()))
        notice = self.notice.format(judge=judge.name, quote=quote, ref=closest.ref)
        return replace(
            checked, refused=True, answerability=answerability, notices=[*checked.notices, notice]
        )


def judged_answerability(quotes: list[str], ctx: Context) -> float | None:
    """How well ``quotes`` answer the question, as ``JudgeAnswered`` (and the stream's first
    sentence, ``askdef.answer.shown``) judge it; None without a judge. A follow-up's quotes
    answer its standalone query or the words typed; quotes that only repeat the previous
    answer, the words typed alone."""
    query = ctx.query
    if isinstance(query, FollowUp) and all(map(query.repeats, quotes)):
        query = query.asked
    answerability = ctx.entail.answerability(query, quotes)
    if isinstance(query, FollowUp) and not answers(answerability, ctx):
        typed = ctx.entail.answerability(query.asked, quotes)
        answerability = max(answerability or 0.0, typed) if typed is not None else answerability
    return answerability


def answers(answerability: float | None, ctx: Context) -> bool:
    """Whether quotes judged ``answerability`` pass ``JudgeAnswered`` (unjudged ones do)."""
    return answerability is None or answerability >= ctx.answer_threshold


class RescueExtractively:
    """Replaces a refused model answer with the fallback's, when the fallback finds sentences
    that check out: a small model refuses or misquotes answers its sources hold, and the
    extractive generator keeps its own threshold, so it speaks only when a sentence fits."""

    notice = (
        "The {name} model gave no answer the documents back; "
        "these are the documents' closest sentences instead."
    )

    def __call__(
        self, draft: Draft, answer: Answer, ctx: Context, check: Callable[[Draft], Answer]
    ) -> Revision | None:
        fallback = ctx.fallback
        if fallback is None or not answer.refused or ctx.unmentioned:
            return None
        if draft.generator is not ctx.generator:  # the fallback answered already
            return None
        reason = self.notice.format(name=ctx.generator.name)
        text = "".join(fallback.answer(ctx.query, ctx.passages))
        rescued = Draft(parsed(text), fallback, [*answer.notices, reason])  # why not the model's
        rescue = check(rescued)
        if rescue.refused:
            return None
        return Revision(rescued, rescue, Fallback(reason=reason, generator=fallback.name))


class ContinueLeadIn:
    """Appends the sentence after a cited opening line that only announces its paragraph
    (``askdef.answer.lead_in``)."""

    notice = "Added the sentence after a cited opening line that only announces its paragraph."

    def __call__(
        self, draft: Draft, answer: Answer, ctx: Context, check: Callable[[Draft], Answer]
    ) -> Revision | None:
        if answer.refused:
            return None
        following = " ".join(continuations(ctx.query, answer.citations, ctx.passages))
        return _appended(draft, following, self.notice, check) if following else None


def _appended(draft: Draft, text: str, notice: str, check: Callable[[Draft], Answer]) -> Revision:
    revised = replace(
        draft, claims=[*draft.claims, *parsed(text)], notices=[*draft.notices, notice]
    )
    return Revision(revised, check(revised))


def parsed(text: str) -> list[Claim]:
    """The claims of generated text as it is shown (``safe_output.plain``)."""
    return parse_claims(plain(text))


def looks_like_refusal(text: str) -> bool:
    """Whether ``text`` says the documents do not hold the answer (in any wording)."""
    return bool(_REFUSING.search(normalize(text)))


def _sentences(n: int) -> str:
    return "1 sentence" if n == 1 else f"{n} sentences"
