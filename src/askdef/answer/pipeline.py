"""One answer pipeline: condense → retrieve → generate (streamed) → verify citations.

``AskDef.ask`` consumes ``AskDef.stream``; both go through ``stream_answer``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator

from askdef.answer.citations import Entailment, Removed, Verified, verify
from askdef.answer.claims import Claim, claims_text, parse_claims
from askdef.answer.entailment import Judge
from askdef.answer.generation import Generator
from askdef.answer.lead_in import continuations
from askdef.answer.prompts import REFUSAL
from askdef.answer.question_type import short_answer
from askdef.answer.relevance import unmentioned
from askdef.errors import GenerationError
from askdef.index.vocabulary import Vocabulary
from askdef.safe_output import plain
from askdef.settings import ANSWERED, ENTAILED
from askdef.text import normalize
from askdef.types import Answer, Citation, Delta, Fallback, Passage, Retrieved, StreamEvent, Timings

_REFUSING = re.compile(
    r"\b(do(es)? not|don't|doesn't|cannot|can't|could not|unable to)\b.{0,40}\b"
    r"(contain|answer|find|provide|mention|include|say|state|know)"
)
UNVERIFIED = "The model's answer could not be matched to the documents, so it is not shown."
NOT_ANSWERED = (
    "The passages found are about this question's subject but do not answer what it asks "
    "(judged by the {judge} model), so no answer is shown. The closest the documents come: "
    '"{quote}" ({ref}).'
)
RESCUED = (
    "The {name} model gave no answer the documents back; "
    "these are the documents' closest sentences instead."
)
MISSED = "Added a sentence of the documents that answers what the model left out."
CONTINUED = "Added the sentence after a cited opening line that only announces its paragraph."
Missed = Callable[[str, list[Citation], list[Passage]], str | None]


def stream_answer(
    question: str,
    history: list[dict[str, str]],
    *,
    search: Callable[[str], list[Passage]],
    generator: Generator,
    fallback: Generator | None,
    vocabulary: Vocabulary,
    judge: Judge | None = None,
    threshold: float = ENTAILED,
    answer_threshold: float = ANSWERED,
    missed: Missed | None = None,
    max_query_chars: int | None = None,
) -> Iterator[StreamEvent]:
    """Events for one question: ``Retrieved``, ``Delta``s (maybe a ``Fallback``), ``Answer``.

    A question naming what ``vocabulary`` (the corpus's) lacks is refused without a generator.
    Sentences are shown only where a retrieved paragraph entails them (``askdef.answer.citations``:
    verbatim copies, or ``judge`` scoring at least ``threshold``), and an answer only when
    ``judge`` scores its quotes as answering the question at least ``answer_threshold``;
    otherwise it is refused with a notice. ``missed(query, citations, passages)``
    may return a cited sentence a generator's verified answer left out; it is appended, as is
    the sentence after a cited lead-in (``askdef.answer.lead_in``). A follow-up's condensed query
    keeps at most its last ``max_query_chars`` characters.
    """
    started = time.perf_counter()
    notices: list[str] = []
    query = question
    if history:
        try:
            query = generator.condense(question, history)
        except GenerationError as exc:
            if fallback is None:
                raise
            query = fallback.condense(question, history)
            notices.append(f"Could not condense the follow-up with {generator.name}: {exc}")
        query = _tail(query, max_query_chars)
    passages = search(query)
    yield Retrieved(query=query, passages=passages)
    retrieval = time.perf_counter() - started

    used, parts, first_token = generator, [], None
    missing = unmentioned(query, vocabulary)
    if missing:  # no generator can answer it from these passages: do not wait for one
        notices.append(f"The documents never mention {', '.join(missing)}.")
        parts = [REFUSAL]
        yield Delta(text=REFUSAL)
    else:
        try:
            for delta in generator.answer(query, passages):
                first_token = first_token or time.perf_counter() - started
                parts.append(delta)
                yield Delta(text=delta)
        except GenerationError as exc:
            if fallback is None:
                raise
            reason = plain(
                f"The {generator.name} generator failed ({exc}); this answer is extractive."
            )
            notices.append(reason)
            yield Fallback(reason=reason, generator=fallback.name)
            used, parts = fallback, list(fallback.answer(query, passages))
            first_token = time.perf_counter() - started
            yield Delta(text="".join(parts))

    entail = Entailment(judge, threshold)  # each sentence judged once, however often re-verified

    def timings() -> Timings:
        total = time.perf_counter() - started
        return Timings(
            retrieval=retrieval, first_token=first_token, total=total, judge=entail.seconds
        )

    def finish(claims: list[Claim], by: Generator, notes: list[str]) -> Answer:
        verified = verify(claims, passages, entail)
        quotes = [c.quote for c in sorted(verified.citations, key=lambda c: c.n)]
        answerability = entail.answerability(query, quotes) if quotes else None
        unanswered = answerability is not None and answerability < answer_threshold
        refuser = (judge.name if judge else "none") if unanswered else None
        checked = (answerability, refuser)
        return _finish(question, query, claims, passages, verified, by, notes, timings(), checked)

    claims = _parsed("".join(parts))  # parsed once: each later step appends its own
    answer = finish(claims, used, notices)
    extra = None
    if not answer.refused and used is generator and missed is not None:  # not the fallback's
        extra = missed(query, answer.citations, passages)
    if extra:
        claims = [*claims, *_parsed(extra)]
        notices = [*notices, MISSED]
        answer = finish(claims, used, notices)
        yield Delta(text=f" {extra}")
    if answer.refused and used is generator and fallback is not None and not missing:
        # A small model refuses or misquotes answers its sources hold; the extractive
        # generator keeps its own threshold, so it speaks only when a sentence fits.
        reason = RESCUED.format(name=generator.name)
        text = "".join(fallback.answer(query, passages))
        rescued_notes = [*answer.notices, reason]  # why the model's answer is not shown
        rescued = _parsed(text)
        rescue = finish(rescued, fallback, rescued_notes)
        if not rescue.refused:
            yield Fallback(reason=reason, generator=fallback.name)
            yield Delta(text=text)
            answer, claims, used, notices = rescue, rescued, fallback, rescued_notes
    following = " ".join([] if answer.refused else continuations(query, answer.citations, passages))
    if following:
        claims = [*claims, *_parsed(following)]
        answer = finish(claims, used, [*notices, CONTINUED])
        yield Delta(text=f" {following}")
    yield answer


def looks_like_refusal(text: str) -> bool:
    """Whether ``text`` says the documents do not hold the answer (in any wording)."""
    return bool(_REFUSING.search(normalize(text)))


def removal_notices(removed: list[Removed], judge_error: str | None) -> list[str]:
    """What the user is told about the sentences of an answer that are not shown (a sentence
    saying the documents lack the answer is not counted: it is no claim about them)."""
    counts = {"unsupported": 0, "unsourced": 0, "unchecked": 0}
    for r in removed:
        if not looks_like_refusal(r.sentence):
            counts[r.reason] += 1
    notes = []
    if counts["unsupported"]:
        notes.append(
            f"Removed {_sentences(counts['unsupported'])} that the cited paragraphs do not "
            "state (they contradict them or add to them)."
        )
    if counts["unsourced"]:
        notes.append(
            f"Removed {_sentences(counts['unsourced'])} without a source: no retrieved "
            "paragraph states them."
        )
    if counts["unchecked"]:
        notes.append(
            f"Removed {_sentences(counts['unchecked'])} that could not be checked against the "
            f"documents: {judge_error}"
        )
    return notes


def _parsed(text: str) -> list[Claim]:
    """The claims of generated text as it is shown (``safe_output.plain``)."""
    return parse_claims(plain(text))


def _tail(query: str, limit: int | None) -> str:
    """``query`` cut to its last ``limit`` characters, from a whole word: the follow-up comes
    last (the extractive condense appends it to the whole previous question)."""
    if limit is None or len(query) <= limit:
        return query
    cut = query[-limit:]
    if not query[-limit - 1].isspace():  # the cut falls inside a word: drop its end
        cut = re.sub(r"^\S*", "", cut)
    return cut.strip() or query[-limit:]


def _sentences(n: int) -> str:
    return "1 sentence" if n == 1 else f"{n} sentences"


def _finish(
    question: str,
    query: str,
    claims: list[Claim],
    passages: list[Passage],
    verified: Verified,
    generator: Generator,
    notices: list[str],
    timings: Timings,
    checked: tuple[float | None, str | None],
) -> Answer:
    """The Answer shown; ``checked`` is the judge's answerability and, when it refused the
    answer, the judge's name."""
    answerability, not_answered_by = checked
    removals = removal_notices(verified.removed, verified.judge_error)
    notices = [plain(note) for note in [*notices, *removals]]  # some quote an LLM's error body
    refused = not verified.citations
    said = claims_text(claims)
    if refused and said and not looks_like_refusal(said) and not removals:
        notices.append(UNVERIFIED)
    elif not_answered_by is not None:
        refused = True
        closest = min(verified.citations, key=lambda c: c.n)  # what the answer led with
        quote = plain(" ".join(closest.quote.split()))
        notices.append(NOT_ANSWERED.format(judge=not_answered_by, quote=quote, ref=closest.ref))
    citations = [] if refused else verified.citations
    text = REFUSAL if refused else verified.text
    return Answer(
        question=question,
        text=text,
        short=short_answer(query, text, [c.quote for c in sorted(citations, key=lambda c: c.n)]),
        citations=citations,
        passages=passages,
        refused=refused,
        generator=generator.name,
        model=generator.model,
        query=query,
        dropped_citations=verified.dropped,
        notices=notices,
        answerability=answerability,
        timings=timings,
    )
