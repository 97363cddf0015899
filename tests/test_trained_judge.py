"""askdef's trained judge, the real packaged model: what it lets through, what it stops, that
it gives the same score every time, and that a missing model says how to get it back.

The sentences are made up here on topics the model was not trained on (a city's library
service), so a pass is not a memorised training pair."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from askdef.answer.citations import Entailment, verify
from askdef.answer.trained_judge import MODEL_DIR, TrainedJudge
from askdef.errors import ModelError
from askdef.types import Passage

PARAGRAPH = (
    "The city library will open a second branch in Eastfield in 2027. The branch will lend "
    "books, tools and musical instruments, and it will stay open until 9 pm on weekdays. "
    "Membership remains free for residents, while visitors pay 15 euros a year."
)


@pytest.fixture(scope="module")
def judge() -> TrainedJudge:
    return TrainedJudge()


def _shown(judge: TrainedJudge, claim: str) -> bool:
    passage = Passage(doc_id="library.txt", paragraph=1, text=PARAGRAPH, score=1.0, start=0, end=1)
    return bool(verify(f"{claim} [1]", [passage], Entailment(judge)).citations)


@pytest.mark.parametrize(
    "claim",
    [
        "Membership remains free for residents.",  # shortening
    ],
)
def test_a_faithful_sentence_keeps_its_citation(judge: TrainedJudge, claim: str) -> None:
    assert _shown(judge, claim)


@pytest.mark.parametrize(
    "claim",
    [
        "The city library will not open a second branch in Eastfield in 2027.",  # negation
        "The city library will open a second branch in Eastfield in 2029.",  # number
        "The city library will open a second branch in Westbrook in 2027.",  # entity
    ],
)
def test_a_sentence_the_paragraph_does_not_state_loses_its_citation(
    judge: TrainedJudge, claim: str
) -> None:
    assert not _shown(judge, claim)


def test_a_quote_that_answers_scores_above_a_neighbouring_fact(judge: TrainedJudge) -> None:
    question = "How much do visitors pay for membership?"
    answering = "Membership remains free for residents, while visitors pay 15 euros a year."
    neighbour = "The city library will open a second branch in Eastfield in 2027."
    assert judge.answers(answering, question) >= judge.answered
    assert judge.answers(neighbour, question) < judge.answered


def test_the_same_pair_gets_the_same_score_alone_and_in_a_batch(judge: TrainedJudge) -> None:
    pair = (PARAGRAPH, "Visitors pay 15 euros a year.")
    alone = judge.score(*pair)
    batched = judge.scores([pair, (PARAGRAPH, "The branch opens in 2027, a year of change.")])
    assert judge.score(*pair) == alone
    assert batched[0] == pytest.approx(alone, abs=1e-4)


def test_a_missing_model_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="make judge"):
        TrainedJudge(tmp_path)
    broken = Path(shutil.copytree(MODEL_DIR, tmp_path / "broken"))
    (broken / TrainedJudge().card.model_file).write_bytes(b"not a model")
    with pytest.raises(ModelError, match="could not be loaded"):
        TrainedJudge(broken).score("a", "b")


def test_auto_is_the_trained_judge_for_extractive_answers_and_a_cascade_for_an_llm() -> None:
    from askdef.answer.generation import make_judge
    from askdef.answer.trained_judge import CascadeJudge
    from askdef.settings import Settings

    settings = Settings(judge="auto", local_model=__file__)  # any file: nothing loads here
    assert isinstance(make_judge(settings, "extractive"), TrainedJudge)
    cascade = make_judge(settings, "local")
    assert isinstance(cascade, CascadeJudge) and cascade.name.endswith("local LLM")
    assert make_judge(settings, "local", choice="none") is None
    # an openai answer's band goes to its endpoint, unless another LLM is named (a benchmark
    # whose writer is scripted names the real one)
    own = make_judge(settings, "openai")
    assert isinstance(own, CascadeJudge) and own.name.endswith("openai LLM")
    named = make_judge(settings, "openai", llm="local")
    assert isinstance(named, CascadeJudge) and named.name.endswith("local LLM")


def test_a_cascade_asks_the_llm_only_inside_the_band(judge: TrainedJudge) -> None:
    from fake_judge import ScriptedJudge

    from askdef.answer.trained_judge import Band, CascadeJudge

    llm = ScriptedJudge(everything=True)
    premise = "The city library will open a second branch in Eastfield in 2027."
    negated = "The city library will not open a second branch in Eastfield in 2027."
    never = CascadeJudge(judge, llm, Band(2.0, 2.0))
    assert never.entailment(premise, negated) < never.entailed  # the trained judge decides
    always = CascadeJudge(judge, llm, Band(0.0, 1.0))
    assert always.entailment(premise, negated) >= always.entailed  # the (scripted) LLM decides
    assert (never.asked_second, always.asked_second) == (0, 1)
