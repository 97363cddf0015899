"""One answer pipeline: condense → retrieve → generate (streamed) → check → revise.

``AskDef.ask`` consumes ``AskDef.stream``; both go through ``stream_answer``. After
generation, an answer goes through ``CHECKS`` (on every draft) and ``STEPS`` (each once), in
the order named here; each is a unit of ``askdef.answer.steps``.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Iterator

from askdef.answer.citations import Entailment, verify
from askdef.answer.entailment import Judge
from askdef.answer.generation import Generator
from askdef.answer.prompts import REFUSAL
from askdef.answer.question_type import short_answer
from askdef.answer.relevance import FollowUp, unmentioned
from askdef.answer.shown import Shown
from askdef.answer.steps import (
    Check,
    Checked,
    Context,
    ContinueLeadIn,
    Draft,
    JudgeAnswered,
    ReportRemovals,
    RescueExtractively,
    Step,
    parsed,
)
from askdef.errors import GenerationError
from askdef.index.vocabulary import Vocabulary
from askdef.safe_output import plain
from askdef.types import Answer, Delta, Fallback, Passage, Retrieved, StreamEvent, Timings

CHECKS: tuple[Check, ...] = (ReportRemovals(), JudgeAnswered())
STEPS: tuple[Step, ...] = (RescueExtractively(), ContinueLeadIn())


def stream_answer(
    question: str,
    history: list[dict[str, str]],
    *,
    search: Callable[[str], list[Passage]],
    generator: Generator,
    fallback: Generator | None,
    vocabulary: Vocabulary,
    judge: Judge | None = None,
    threshold: float | None = None,
    answer_threshold: float | None = None,
    max_query_chars: int | None = None,
) -> Iterator[StreamEvent]:
    """Events for one question: ``Retrieved``, ``Delta``s (maybe a ``Fallback``), ``Answer``.

    Deltas carry only sentences whose citations checked out, as they complete
    (``askdef.answer.shown``), and add up to the ``Answer``'s text (since the last
    ``Fallback``) unless it was refused after they streamed (``Answer.replaces_stream``).

    A question naming what ``vocabulary`` (the corpus's) lacks is refused without a generator.
    Sentences are shown only where a retrieved paragraph entails them (``askdef.answer.
    citations``: verbatim copies, or ``judge`` scoring at least ``threshold``), and an answer
    only when ``judge`` scores its quotes as answering the question at least
    ``answer_threshold`` (both by default the judge's own); otherwise it is refused with a
    notice. A follow-up's condensed query keeps at most its last ``max_query_chars`` characters.
    """
    started = time.perf_counter()
    notices: list[str] = []
    query = question
    if history:
        try:
            condensed = generator.condense(question, history)
        except GenerationError as exc:
            if fallback is None:
                raise
            condensed = fallback.condense(question, history)
            notices.append(f"Could not condense the follow-up with {generator.name}: {exc}")
        said = [m["content"] for m in history if m.get("role") == "assistant"][-1:]
        query = FollowUp(_tail(condensed, max_query_chars), asked=question, said=" ".join(said))
    passages = search(query)
    yield Retrieved(query=str(query), passages=passages)
    retrieval = time.perf_counter() - started

    missing = unmentioned(query, vocabulary)
    ctx = Context(
        question=question,
        query=query,
        passages=passages,
        generator=generator,
        fallback=fallback,
        entail=Entailment(judge, threshold),
        answer_threshold=answer_threshold
        if answer_threshold is not None
        else judge.answered
        if judge
        else 0.0,
        unmentioned=bool(missing),
    )
    used, parts, first_token = generator, [], None
    first_shown: float | None = None
    shown = Shown(ctx)

    def show(text: str) -> Iterator[Delta]:
        """``text`` streamed, when there is any: verified text only (``askdef.answer.shown``)."""
        nonlocal first_shown
        if text:
            first_shown = first_shown or time.perf_counter() - started
            yield Delta(text=text)

    if missing:  # no generator can answer it from these passages: do not wait for one
        notices.append(f"The documents never mention {', '.join(missing)}.")
        parts = [REFUSAL]
    else:
        try:
            for delta in generator.answer(query, passages):
                first_token = first_token or time.perf_counter() - started
                parts.append(delta)
                yield from show(shown.feed(delta))
        except GenerationError as exc:
            if fallback is None:
                raise
            reason = plain(
                f"The {generator.name} generator failed ({exc}); this answer is extractive."
            )
            notices.append(reason)
            yield Fallback(reason=reason, generator=fallback.name)
            used, parts, shown = fallback, list(fallback.answer(query, passages)), Shown(ctx)
            first_token = time.perf_counter() - started
            for part in parts:
                yield from show(shown.feed(part))
        yield from show(shown.end())

    def timings() -> Timings:
        total = time.perf_counter() - started
        judged = ctx.entail.seconds
        return Timings(
            retrieval=retrieval,
            first_token=first_token,
            first_shown=first_shown,
            total=total,
            judge=judged,
        )

    check = functools.partial(checked_answer, ctx=ctx, timings=timings)
    draft = Draft(parsed("".join(parts)), used, notices)  # parsed once: revisions append
    answer = check(draft)
    if not answer.refused:  # judged answering: what is not streamed yet streams now
        yield from show(shown.extend(answer.text))
    for step in STEPS:
        revision = step(draft, answer, ctx, check)
        if revision is None:
            continue
        draft, answer = revision.draft, revision.answer
        if revision.fallback is not None:  # what streamed is void
            shown = Shown(ctx)
            yield revision.fallback
        if not answer.refused:
            yield from show(shown.extend(answer.text))
    if shown.text and not answer.text.startswith(shown.text):  # refused after it streamed
        answer = answer.model_copy(update={"replaces_stream": True})
    yield from show(shown.extend(answer.text))  # a refusal, when nothing streamed before it
    yield answer.model_copy(update={"timings": timings()})


def checked_answer(draft: Draft, *, ctx: Context, timings: Callable[[], Timings]) -> Answer:
    """The ``Answer`` a draft checks out to: its claims verified, then ``CHECKS`` in order; a
    refusal hides its text and citations."""
    verified = verify(draft.claims, ctx.passages, ctx.entail)
    checked = Checked(verified, [*map(plain, draft.notices)], refused=not verified.citations)
    for each in CHECKS:
        checked = each(checked, ctx)
    citations = [] if checked.refused else verified.citations
    text = REFUSAL if checked.refused else verified.text
    quotes = [c.quote for c in sorted(citations, key=lambda c: c.n)]
    return Answer(
        question=ctx.question,
        text=text,
        short=short_answer(ctx.query, text, quotes),
        citations=citations,
        passages=ctx.passages,
        refused=checked.refused,
        generator=draft.generator.name,
        model=draft.generator.model,
        query=str(ctx.query),
        dropped_citations=verified.dropped,
        notices=checked.notices,
        answerability=checked.answerability,
        timings=timings(),
    )


def _tail(query: str, limit: int | None) -> str:
    """``query`` cut to its last ``limit`` characters, from a whole word: the follow-up comes
    last (the extractive condense appends it to the whole previous question)."""
    if limit is None or len(query) <= limit:
        return query
    cut = query[-limit:]
    if not query[-limit - 1].isspace():  # the cut falls inside a word: drop its end
        cut = re.sub(r"^\S*", "", cut)
    return cut.strip() or query[-limit:]
