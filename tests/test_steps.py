"""Each step of the answer path as a unit, on hand-made passages and drafts."""

from __future__ import annotations

import functools
from collections.abc import Iterator

from fake_judge import ScriptedJudge

from askdef.answer.citations import Entailment, verify
from askdef.answer.pipeline import checked_answer
from askdef.answer.steps import (
    Checked,
    Context,
    ContinueLeadIn,
    Draft,
    JudgeAnswered,
    ReportRemovals,
    RescueExtractively,
    parsed,
)
from askdef.types import Answer, Fallback, Passage, Timings
from test_citations import BUDGET, FX, PASSAGES

OPENER = FX[: FX.index(".") + 1]  # the paragraph opens by announcing it
QUESTION = "How much will Japan spend on defense by 2027?"


class Says:
    """A generator that writes ``text`` whatever it is asked."""

    def __init__(self, name: str, text: str) -> None:
        self.name, self.model, self.text = name, name, text

    def answer(self, question: str, passages: list[Passage]) -> Iterator[str]:
        yield self.text

    def condense(self, question: str, history: list[dict[str, str]]) -> str:
        return question


MODEL = Says("model", "")


def context(
    judge: ScriptedJudge | None = None, question: str = QUESTION, **kwargs: object
) -> Context:
    fields: dict = {"fallback": None, "answer_threshold": 0.5, **kwargs}
    entail = Entailment(judge)
    return Context(question, question, PASSAGES, MODEL, entail=entail, **fields)


def check_of(ctx: Context) -> functools.partial[Answer]:
    timings = Timings(retrieval=0.0, first_token=None, total=0.0, judge=0.0)
    return functools.partial(checked_answer, ctx=ctx, timings=lambda: timings)


def checked(text: str, ctx: Context) -> Checked:
    claims = parsed(text)
    verified = verify(claims, PASSAGES, ctx.entail)
    return Checked(verified, [], refused=not verified.citations)


def test_report_removals_counts_what_is_not_shown_but_not_a_refusal() -> None:
    ctx = context()
    said = f"{BUDGET} [2] Japan will spend 5% of GDP. The documents do not say more."
    result = ReportRemovals()(checked(said, ctx), ctx)
    assert result.notices == [
        "Removed 1 sentence without a source: no retrieved paragraph states them."
    ]
    assert not result.refused


def test_report_removals_names_each_reason_and_the_judge_failure() -> None:
    judge = ScriptedJudge()
    ctx = context(judge)
    contradicted = checked("Japan will cut its defense budget by 2027. [2]", ctx)
    assert ReportRemovals()(contradicted, ctx).notices == [
        "Removed 1 sentence that the cited paragraphs do not state (they contradict them or "
        "add to them)."
    ]
    judge.fail = "the judge timed out <b>twice</b>"
    failed = checked("Japan will raise its defense budget by 2027. [2]", ctx)
    assert ReportRemovals()(failed, ctx).notices == [
        "Removed 1 sentence that could not be checked against the documents: "
        "the judge timed out twice"
    ]


def test_judge_answered_refuses_true_quotes_that_do_not_answer() -> None:
    judge = ScriptedJudge()
    judge.unanswered.add(QUESTION)
    ctx = context(judge)
    result = JudgeAnswered()(checked(f"{BUDGET} [2]", ctx), ctx)
    assert result.refused and result.answerability == 0.0
    assert f'come: "{BUDGET}" (b.txt ¶3).' in result.notices[-1]
    assert "judged by the scripted model" in result.notices[-1]


def test_judge_answered_keeps_an_answer_the_judge_finds_answering() -> None:
    ctx = context(ScriptedJudge())
    result = JudgeAnswered()(checked(f"{BUDGET} [2]", ctx), ctx)
    assert not result.refused and result.answerability == 1.0 and result.notices == []
    unjudged = context()  # no judge: nothing to say
    assert JudgeAnswered()(checked(f"{BUDGET} [2]", unjudged), unjudged).answerability is None


def test_rescue_shows_the_fallback_when_its_sentences_check_out() -> None:
    ctx = context(fallback=Says("extractive", f"{BUDGET} [2]"))
    check = check_of(ctx)
    draft = Draft(parsed("Japan will spend 5% of GDP. [2]"), MODEL, [])
    revision = RescueExtractively()(draft, check(draft), ctx, check)
    assert revision is not None
    reason = RescueExtractively.notice.format(name="model")
    assert revision.fallback == Fallback(reason=reason, generator="extractive")
    assert revision.answer.generator == "extractive" and not revision.answer.refused
    assert revision.answer.notices[-1] == reason  # after why the model's answer is not shown


def test_rescue_keeps_the_refusal_when_the_fallback_has_nothing_or_was_not_asked() -> None:
    draft = Draft(parsed("Japan will spend 5% of GDP. [2]"), MODEL, [])
    silent = context(fallback=Says("extractive", ""))
    assert RescueExtractively()(draft, check_of(silent)(draft), silent, check_of(silent)) is None
    unmentioned = context(fallback=Says("extractive", f"{BUDGET} [2]"), unmentioned=True)
    check = check_of(unmentioned)
    assert RescueExtractively()(draft, check(draft), unmentioned, check) is None


def test_continue_lead_in_adds_the_sentence_after_an_announcing_opener() -> None:
    ctx = context(question="How is Europe involved in the F-X program?")
    check = check_of(ctx)
    draft = Draft(parsed(f"{OPENER} [1]"), MODEL, [])
    revision = ContinueLeadIn()(draft, check(draft), ctx, check)
    assert revision is not None and revision.answer.notices == [ContinueLeadIn.notice]
    assert "Rolls-Royce" in revision.answer.text
    assert ContinueLeadIn()(revision.draft, revision.answer, ctx, check) is None  # once
