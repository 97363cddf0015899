"""Evaluation: run a question set through askdef and measure its answers, retrieval and citations.

Question sets (JSONL, its format in docs/usage.md#askdef-eval, or SQuAD rows; malformed lines
land in ``EvalReport.skipped_lines``) and gold paragraphs: ``askdef.eval.questions``; metric
functions: ``askdef.eval.metrics``.

Metrics, per question in ``EvalRow`` and aggregated in ``EvalReport.metrics`` (a metric no
question applies to is left out):

- ``answer_coverage``: share of ``answers`` whose normalised form occurs, as whole words, in the
  normalised answer text; mean over answerable questions.
- ``exact_match`` / ``f1``: SQuAD v1.1 exact match and token F1 of the short answer
  (``Answer.short``, for a question asking for a time or a number) or else the answer text
  (citation markers removed) against each of ``answers``, the best kept; mean over answerable
  questions.
  Normalisation: lowercase, punctuation dropped, articles a/an/the dropped, spaces collapsed.
- ``hit@k`` / ``mrr``: whether a gold paragraph is among ``bot.search(question, k=k)``, and
  1/rank of the first one (0 when none is); mean over questions with a gold paragraph.
- ``citation_recall``: 1 when a gold paragraph is among the answer's citations, else 0; mean
  over answerable questions with a gold paragraph.
- ``citation_precision``: over every (sentence, marker) pair of the shown answers, the share
  whose cited paragraph states the sentence according to the *precision grader*, pooled over all
  questions (``askdef.eval.metrics.citation_support``). The grader is an LLM independent of the
  verifier's judge and decision: it reads the whole cited paragraph (``Answer.passages``), not the
  quote the verifier chose, and is asked its own question
  (``askdef.answer.entailment.precision_messages``); ``--judge openai`` makes it another model.
  ``EvalReport.grader`` names it; without one (``--judge none``) the metric is absent and the
  report says "not measured".
- ``dropped_citations``: markers the verifier removed as unverifiable
  (``Answer.dropped_citations``), summed over all questions.
- ``refusal_accuracy``: share of ``answerable: false`` questions refused;
  ``false_refusal_rate``: share of answerable questions refused.
- ``latency_p50`` / ``latency_p95``: seconds per ``bot.ask`` call; ``first_token_latency_p50`` /
  ``first_token_latency_p95``: seconds from the question to the generator's first text
  (``Timings.first_token``; a question refused before any generator runs has none);
  ``first_shown_latency_p50`` / ``first_shown_latency_p95``: seconds from the question to the
  first text streamed, a sentence whose citations checked out or the refusal
  (``Timings.first_shown``);
  ``search_latency_p50``:
  seconds per ``bot.search`` call (models are loaded before the clock starts; vectors the
  embedder remembers are forgotten before each call).
- ``pass_rate``: share of questions passing every check; ``errors``: questions whose ask failed.

A conversation's turns are asked in order, each with the turns before it as ``history`` (the
questions and the answers given, as the web chat sends them); a follow-up's hit@k and MRR are
those of ``bot.search(answer.query)``, the query the pipeline searched. ``EvalReport.groups``
holds the same metrics over first turns (every question that is no follow-up), over all
follow-ups, and over each kind of follow-up.

Checks, per question: answerable ones must be ``answered`` (not refused), reach full
``coverage``, ``retrieved`` (gold in the top k) and ``cites_gold``; unanswerable ones must be
``refused``; with a grader, any answer with markers must have ``citations_supported``
(precision 1).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from pydantic import BaseModel, Field, computed_field

from askdef._version import __version__
from askdef.answer.entailment import Judge, precision_messages
from askdef.answer.generation import llm_judge
from askdef.errors import InputError, ModelError
from askdef.eval.metrics import (
    answer_coverage,
    citation_recall,
    citation_support,
    exact_match,
    f1_score,
    false_refusal_rate,
    hit_at_k,
    percentile,
    reciprocal_rank,
    refusal_accuracy,
    refusal_curve,
    strip_markers,
)
from askdef.eval.progress import Progress
from askdef.eval.questions import (
    CorpusParagraphs,
    Gold,
    Question,
    for_corpus,
    load_questions,
    resolve_gold,
)
from askdef.types import Answer, Passage

if TYPE_CHECKING:
    from askdef.answer.generation import Generator
    from askdef.index.embedding import Embedder
    from askdef.settings import Settings

T = TypeVar("T")


class Bot(Protocol):
    """What the evaluation drives: an ``askdef.AskDef``, or anything that searches and asks
    alike."""

    settings: Settings

    @property
    def embedder(self) -> Embedder: ...

    @property
    def judge(self) -> Judge | None: ...

    @property
    def generator(self) -> Generator: ...

    def search(self, question: str, k: int | None = None) -> list[Passage]: ...

    def ask(self, question: str, history: list[dict[str, str]] | None = None) -> Answer: ...


class EvalRow(BaseModel):
    """One question's outcome: the answer, each metric (None: not applicable) and each check."""

    id: str
    question: str
    answerable: bool
    conversation: str | None = None
    follow_up: str | None = Field(default=None, description="A later turn's kind of follow-up.")
    query: str | None = Field(default=None, description="Answer.query, what was searched.")
    answers: list[str] = Field(default_factory=list)
    answer: str = ""
    short: str | None = Field(default=None, description="Answer.short, when there is one.")
    citations: list[str] = Field(default_factory=list, description="Cited paragraphs, as refs.")
    refused: bool = False
    generator: str = ""
    gold: list[str] = Field(default_factory=list, description="Gold paragraphs, as refs.")
    retrieved: list[str] = Field(default_factory=list, description="Top-k search hits, as refs.")
    exact_match: float | None = None
    f1: float | None = None
    coverage: float | None = None
    hit: bool | None = None
    reciprocal_rank: float | None = None
    citation_recall: float | None = None
    citation_precision: float | None = None
    citations_checked: int = 0
    citations_supported: int = 0
    dropped_citations: int = 0
    answerability: float | None = Field(
        default=None, description="Answer.answerability: the judge's P(the quotes answer it)."
    )
    latency: float = Field(default=0.0, description="Seconds for bot.ask.")
    first_token: float | None = Field(
        default=None, description="Seconds to the generator's first text (Timings.first_token)."
    )
    first_shown: float | None = Field(
        default=None,
        description="Seconds to the first verified text streamed (Timings.first_shown).",
    )
    search_latency: float = Field(default=0.0, description="Seconds for bot.search.")
    checks: dict[str, bool] = Field(default_factory=dict)
    error: str | None = None
    notes: list[str] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def passed(self) -> bool:
        """Every check passed and nothing failed."""
        return self.error is None and all(self.checks.values())


class EvalReport(BaseModel):
    """A whole run: per-question rows, aggregate metrics, and what was skipped."""

    rows: list[EvalRow]
    metrics: dict[str, float]
    skipped_lines: list[str] = Field(default_factory=list)
    generator: str
    model: str = ""
    settings: dict[str, Any] = Field(default_factory=dict)
    questions_path: str = ""
    k: int = 5
    grader: str = Field(
        default="none",
        description="The precision grader, which judged citation precision: local, openai or none.",
    )
    verifier: str = Field(
        default="none",
        description="The judge model (and version) that decided which citations and answers "
        "were shown: askdef's own trained judge by default.",
    )
    answer_threshold: float | None = Field(
        default=None, description="The answer judge's threshold in the run (the curve's default)."
    )
    groups: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description="With conversations: the metrics over first turns, over follow-ups and "
        "over each kind of follow-up.",
    )

    @property
    def refusal_curve(self) -> list[tuple[float, float, float]]:
        """Refusal accuracy and false refusals over the answer judge's threshold (see
        ``askdef.eval.metrics.refusal_curve``); empty without judged answerable and unanswerable
        questions."""
        ok = [r for r in self.rows if r.error is None]
        if all(r.answerability is None for r in ok):
            return []
        points = [round(0.05 * i, 2) for i in range(21)]
        return refusal_curve(((r.answerable, r.refused, r.answerability) for r in ok), points)

    @property
    def failures(self) -> list[EvalRow]:
        """Rows that failed a check, in question order."""
        return [r for r in self.rows if not r.passed]


def row_checks(row: EvalRow) -> dict[str, bool]:
    """Pass/fail per applicable check (see the module docstring)."""
    checks: dict[str, bool] = {}
    if row.answerable:
        checks["answered"] = not row.refused
        if row.coverage is not None:
            checks["coverage"] = row.coverage == 1.0
        if row.hit is not None:
            checks["retrieved"] = row.hit
        if row.citation_recall is not None:
            checks["cites_gold"] = row.citation_recall == 1.0
    else:
        checks["refused"] = row.refused
    if row.citation_precision is not None:
        checks["citations_supported"] = row.citation_precision == 1.0
    return checks


def score_row(
    question: Question,
    gold: Gold | None,
    hits: Sequence[Passage],
    answer: Answer,
    *,
    k: int,
    grader: Judge | None = None,
    latency: float = 0.0,
    search_latency: float = 0.0,
) -> EvalRow:
    """Every metric and check of one answered question; citation precision only with a
    ``grader``."""
    text = strip_markers(answer.text)
    prediction = answer.short or text
    ranked = [(p.doc_id, p.paragraph) for p in hits]
    supported, checked = citation_support(answer, grader) if grader else (0, 0)
    answerable = question.answerable
    row = EvalRow(
        id=question.id,
        question=question.question,
        answerable=answerable,
        conversation=question.conversation,
        follow_up=question.follow_up,
        query=answer.query,
        answers=question.answers,
        answer=answer.text,
        short=answer.short,
        citations=list(dict.fromkeys(c.ref for c in answer.citations)),
        refused=answer.refused,
        generator=answer.generator,
        gold=gold.refs if gold else [],
        retrieved=[p.ref for p in hits],
        exact_match=exact_match(prediction, question.answers) if answerable else None,
        f1=f1_score(prediction, question.answers) if answerable else None,
        coverage=answer_coverage(text, question.answers) if answerable else None,
        hit=hit_at_k(ranked, gold, k) if gold else None,
        reciprocal_rank=reciprocal_rank(ranked, gold, k) if gold else None,
        citation_recall=citation_recall(answer.citations, gold) if gold and answerable else None,
        citation_precision=supported / checked if checked else None,
        citations_checked=checked,
        citations_supported=supported,
        dropped_citations=answer.dropped_citations,
        answerability=answer.answerability,
        latency=latency,
        first_token=answer.timings.first_token,
        first_shown=answer.timings.first_shown,
        search_latency=search_latency,
    )
    row.checks = row_checks(row)
    return row


def _mean(values: Iterable[float | bool | None]) -> float | None:
    present = [float(v) for v in values if v is not None]
    return sum(present) / len(present) if present else None


def aggregate(rows: Sequence[EvalRow], *, k: int) -> dict[str, float]:
    """The run's metrics (see the module docstring); inapplicable ones are left out."""
    ok = [r for r in rows if r.error is None]
    answerable = [r for r in ok if r.answerable]
    outcomes = [(r.answerable, r.refused) for r in ok]
    checked = sum(r.citations_checked for r in ok)
    latencies = [r.latency for r in ok]
    first_tokens = [r.first_token for r in ok if r.first_token is not None]
    first_shown = [r.first_shown for r in ok if r.first_shown is not None]
    values: dict[str, float | None] = {
        "answer_coverage": _mean(r.coverage for r in answerable),
        "exact_match": _mean(r.exact_match for r in answerable),
        "f1": _mean(r.f1 for r in answerable),
        f"hit@{k}": _mean(r.hit for r in ok),
        "mrr": _mean(r.reciprocal_rank for r in ok),
        "citation_recall": _mean(r.citation_recall for r in answerable),
        "citation_precision": sum(r.citations_supported for r in ok) / checked if checked else None,
        "dropped_citations": float(sum(r.dropped_citations for r in ok)),
        "refusal_accuracy": refusal_accuracy(outcomes),
        "false_refusal_rate": false_refusal_rate(outcomes),
        "pass_rate": _mean(r.passed for r in rows),
        "latency_p50": percentile(latencies, 50) if latencies else None,
        "latency_p95": percentile(latencies, 95) if latencies else None,
        "first_token_latency_p50": percentile(first_tokens, 50) if first_tokens else None,
        "first_token_latency_p95": percentile(first_tokens, 95) if first_tokens else None,
        "first_shown_latency_p50": percentile(first_shown, 50) if first_shown else None,
        "first_shown_latency_p95": percentile(first_shown, 95) if first_shown else None,
        "search_latency_p50": percentile([r.search_latency for r in ok], 50) if ok else None,
        "errors": float(len(rows) - len(ok)),
    }
    return {name: value for name, value in values.items() if value is not None}


FIRST_TURNS = "first turns"
FOLLOW_UPS = "follow-ups"


def grouped(rows: Sequence[EvalRow], *, k: int) -> dict[str, dict[str, float]]:
    """The metrics and ``questions`` (how many) over first turns, over follow-ups, and over
    each kind of follow-up (``follow-ups: pronoun``); empty when no row is a follow-up."""
    follow_ups = [r for r in rows if r.follow_up is not None]
    if not follow_ups:
        return {}
    parts = {
        FIRST_TURNS: [r for r in rows if r.follow_up is None],
        FOLLOW_UPS: follow_ups,
        **{
            f"{FOLLOW_UPS}: {kind}": [r for r in follow_ups if r.follow_up == kind]
            for kind in sorted({r.follow_up for r in follow_ups if r.follow_up})
        },
    }
    return {
        name: {"questions": float(len(part)), **aggregate(part, k=k)}
        for name, part in parts.items()
    }


def settings_summary(settings: Settings, *, k: int, model: str) -> dict[str, Any]:
    """The settings that shape a run's results, for the report's header."""
    return {
        "askdef": __version__,
        "generator": settings.generator,
        "model": model,
        "embed_model": settings.embed_model,
        "chunk_size": settings.chunk_size,
        "chunk_overlap": settings.chunk_overlap,
        "candidates": settings.candidates,
        "rrf_k": settings.rrf_k,
        "context_passages": settings.context_passages,
        "k": k,
        "corpus_dir": str(settings.corpus_dir),
        "index_dir": str(settings.index_dir),
    }


def _timed(call: Callable[[], T]) -> tuple[T, float]:
    """``call()``'s result and the seconds it took."""
    started = time.perf_counter()
    result = call()
    return result, time.perf_counter() - started


def evaluate_question(
    bot: Bot,
    question: Question,
    corpus: CorpusParagraphs,
    *,
    k: int,
    grader: Judge | None,
    history: list[dict[str, str]] | None = None,
) -> EvalRow:
    """Search and ask one question (with the conversation's ``history`` before it), then score
    it; a failed ask becomes a failed row."""
    gold, notes = resolve_gold(question, corpus)
    try:
        bot.embedder.forget()  # search and ask each pay for their vectors, as a new question does
        if history:  # a follow-up: search what its answer searched
            answer, latency = _timed(lambda: bot.ask(question.question, history))
            bot.embedder.forget()
            hits, search_latency = _timed(lambda: bot.search(answer.query, k=k))
        else:
            hits, search_latency = _timed(lambda: bot.search(question.question, k=k))
            bot.embedder.forget()
            answer, latency = _timed(lambda: bot.ask(question.question))
    except (InputError, ModelError) as exc:  # a failing judge too: GenerationError
        row = EvalRow(
            id=question.id,
            question=question.question,
            answerable=question.answerable,
            answers=question.answers,
            gold=gold.refs if gold else [],
            error=str(exc),
            notes=notes,
        )
        row.checks = {"no_error": False}
        return row
    row = score_row(
        question,
        gold,
        hits,
        answer,
        k=k,
        grader=grader,
        latency=latency,
        search_latency=search_latency,
    )
    row.notes = notes + answer.notices
    return row


def evaluate(
    bot: Bot,
    questions_path: str | Path,
    *,
    progress: bool = True,
    k: int = 5,
    grader: str = "auto",
) -> EvalReport:
    """Run every question of ``questions_path`` through ``bot`` and measure the answers.

    Each question is searched (``bot.search(question, k=k)``, for hit@k and MRR) and asked
    (``bot.ask(question)``, for everything else); ``progress`` shows on stderr how far the run
    is, with its figures so far (``askdef.eval.progress``). Raises ``InputError`` when the file
    is missing or holds no valid question; malformed lines are skipped and listed in
    ``EvalReport.skipped_lines``; a question whose ask fails with ``InputError``/``ModelError``
    becomes a failed row with ``error`` set. Index errors propagate as ``bot.search`` raises
    them.

    ``grader`` (``local``, ``openai``, ``none``, or ``auto``: the openai endpoint when one is
    configured, else the local model when installed) is the precision grader, the LLM that
    judges citation precision, never the judge that verified the answers; see the module
    docstring.
    """
    path = Path(questions_path)
    questions, skipped = load_questions(path)
    if not questions:
        why = f" ({len(skipped)} malformed lines; first: {skipped[0]})" if skipped else ""
        raise InputError(f"Question file {path} holds no valid question{why}.")
    questions, elsewhere = for_corpus(questions, path, bot.settings.corpus_dir)
    skipped += elsewhere
    if not questions:
        raise InputError(
            f"Question file {path} holds no question about the corpus {bot.settings.corpus_dir}: "
            f"{elsewhere[0]}."
        )
    if progress:
        print(f"eval: {len(questions)} questions; loading the models", file=sys.stderr)
    generator = bot.generator  # load the models before the clock starts
    bot.search("warm up", k=1)
    verifier = bot.judge
    graded_by = (
        llm_judge(bot.settings, grader, ask=precision_messages) if grader != "none" else None
    )
    corpus = CorpusParagraphs(bot.settings.corpus_dir)
    rows: list[EvalRow] = []
    history: list[dict[str, str]] = []
    with Progress(len(questions), shown=progress) as shown:
        for question in questions:
            if question.turn == 1:
                history = []
            row = evaluate_question(bot, question, corpus, k=k, grader=graded_by, history=history)
            rows.append(row)
            shown.add(row)
            history = [  # what the web chat sends: each question and the answer shown
                *history,
                {"role": "user", "content": question.question},
                {"role": "assistant", "content": row.answer},
            ]
    return EvalReport(
        rows=rows,
        metrics=aggregate(rows, k=k),
        groups=grouped(rows, k=k),
        skipped_lines=skipped,
        generator=generator.name,
        model=generator.model,
        settings=settings_summary(bot.settings, k=k, model=generator.model),
        questions_path=str(path),
        k=k,
        grader=graded_by.name if graded_by else "none",
        verifier=verifier.name if verifier else "none",
        answer_threshold=bot.settings.answer_threshold
        if bot.settings.answer_threshold is not None
        else verifier.answered
        if verifier
        else None,
    )
