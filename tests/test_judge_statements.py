"""The judge's training statements (``training/statements.py``): a question and its answer
become the claim a person would write, or nothing where the question's shape is not one
converted, so no malformed claim teaches the judge that broken sentences are supported."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))

from statements import statement


@pytest.mark.parametrize(
    ("question", "answer", "claim"),
    [
        (
            "Who founded the Muslim Brotherhood?",
            "Hassan al Banna",
            "Hassan al Banna founded the Muslim Brotherhood.",
        ),
        (
            "What is the mortality rate of pneumonic plague?",
            "90 to 95 percent",
            "The mortality rate of pneumonic plague is 90 to 95 percent.",
        ),
        (
            "When was the British Nationality Act passed?",
            "1981",
            "The British Nationality Act was passed in 1981.",
        ),
        (
            "When was the town charter approved?",
            "February 9, 1832",
            "The town charter was approved on February 9, 1832.",
        ),
        (
            "How many people died of plague in Paris in 1466?",
            "40,000",
            "40,000 people died of plague in Paris in 1466.",
        ),
        ("Which river joins the Rhine in Duisburg?", "Ruhr", "Ruhr joins the Rhine in Duisburg."),
        (
            "What is the highest point of the Rhine basin called?",
            "Finsteraarhorn",
            "The highest point of the Rhine basin is called Finsteraarhorn.",
        ),
    ],
)
def test_a_question_and_its_answer_make_a_statement(question: str, answer: str, claim: str) -> None:
    assert statement(question, answer) == claim


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("What campaign did the Communist regime initiate after WWII?", "Bricks for Warsaw"),
        ("How many votes does the Council have?", "352"),
        ("What paleontologists are currently on the faculty?", "Neil Shubin"),
        ("Why did the Normans leave?", "famine"),
        ("How many original treaties protected fundamental rights?", "None"),
    ],
)
def test_shapes_a_few_word_moves_cannot_turn_give_nothing(question: str, answer: str) -> None:
    assert statement(question, answer) is None
