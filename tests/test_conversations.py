"""Follow-up questions through the real pipeline (Chroma, the packaged embedder, the trained
judge, the extractive generator) on the made-up HR handbook of ``eval/conversations.jsonl``:
each kind of follow-up answers what it asks, not the question before it."""

from __future__ import annotations

from askdef import Answer, AskDef, Client
from test_web import running

FULL_TIME = "How many days of annual leave do full-time staff get?"
SICK_LEAVE = {"leave.md ¶7", "leave.md ¶8", "leave.md ¶9"}  # the handbook's section


def _turn(bot: AskDef | Client, question: str) -> list[dict[str, str]]:
    """The history after ``question`` and the answer ``bot`` gives it, as the chat sends it."""
    answer = bot.ask(question)
    return [{"role": "user", "content": question}, {"role": "assistant", "content": answer.text}]


def _cited(answer: Answer) -> set[str]:
    return {c.ref for c in answer.citations}


def test_pronoun_follow_up_answers_about_its_own_words(handbook: AskDef) -> None:
    history = _turn(handbook, "By when must an employee who is ill notify their line manager?")
    answer = handbook.ask("When do they need a medical certificate?", history=history)
    assert not answer.refused
    assert "three consecutive working days" in answer.text
    assert "9:30" not in answer.text  # the previous answer is not repeated
    assert answer.query != answer.question  # the conversation was searched, not "they"


def test_ellipsis_follow_up_answers_the_part_time_case(handbook: AskDef) -> None:
    answer = handbook.ask("And part-time employees?", history=_turn(handbook, FULL_TIME))
    assert "pro rata" in answer.text
    assert "Full-time employees receive 25 days" not in answer.text


def test_topic_switch_answers_the_new_topic(handbook: AskDef) -> None:
    answer = handbook.ask("What about sick leave?", history=_turn(handbook, FULL_TIME))
    assert "20 working days" in answer.text
    assert "annual leave" not in answer.text  # neither full-time nor part-time annual leave
    assert _cited(answer) <= SICK_LEAVE


def test_unanswerable_follow_up_is_refused(handbook: AskDef) -> None:
    history = _turn(handbook, "How much is the home office allowance?")
    spent = handbook.ask("What can it be spent on?", history=history)
    assert "a desk, a chair or a screen" in spent.text
    history += [
        {"role": "user", "content": "What can it be spent on?"},
        {"role": "assistant", "content": spent.text},
    ]
    answer = handbook.ask("Can I claim my internet costs as well?", history=history)
    assert answer.refused and answer.citations == []


def test_unanswerable_follow_up_right_after_one_turn_is_refused(handbook: AskDef) -> None:
    """The condensed query still holds the question before it, which the previous answer's
    sentence answers: repeating that sentence must answer what was typed."""
    history = _turn(handbook, "How much is the home office allowance?")
    answer = handbook.ask("Can I claim my internet costs as well?", history=history)
    assert answer.refused and answer.citations == []
    assert "home office allowance" in answer.query  # the conversation was still searched


def test_follow_up_answered_by_the_previous_sentence_is_answered(handbook: AskDef) -> None:
    history = _turn(handbook, "How much is the home office allowance?")
    answer = handbook.ask("What can it be spent on?", history=history)
    assert "a desk, a chair or a screen" in answer.text  # the same sentence, asked about again


def test_follow_up_through_the_client(handbook: AskDef) -> None:
    with running(handbook) as url, Client(url) as remote:
        history = _turn(remote, "What is the hotel limit per night?")
        answer = remote.ask("And in London?", history=history)
    assert "200 euros" in answer.text
    assert "150 euros" not in answer.text
    assert "hotel" in answer.query.lower()  # what was searched, sent back to the client
