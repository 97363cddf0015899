"""Short answers through the real pipeline (extractive generator, trained judge) on a made-up
HR and expenses handbook: the unit kept, and none for a quantity of another subject."""

from __future__ import annotations

import pytest

from askdef import AskDef, Settings

HANDBOOK = """# Staff handbook

## Annual leave

Full-time employees are entitled to twenty-five days of paid annual leave per calendar year.
Part-time employees receive annual leave pro rata to their contracted hours. Unused leave of up
to five days may be carried over to the next year.

## Sick leave

Employees who are ill must tell their manager before 10:00 on the first day of absence. A
doctor's certificate is required after three days of sick leave.

## Travel and expenses

Hotel costs are reimbursed up to 150 euros per night. Meals are reimbursed up to 40 euros per
day when travelling. Economy class is used for flights shorter than six hours.
"""


@pytest.fixture(scope="module")
def handbook(tmp_path_factory: pytest.TempPathFactory, embedder) -> AskDef:
    root = tmp_path_factory.mktemp("handbook")
    (root / "corpus").mkdir()
    (root / "corpus" / "handbook.md").write_text(HANDBOOK, encoding="utf-8")
    settings = Settings(
        corpus_dir=root / "corpus", index_dir=root / "index", generator="extractive"
    )
    bot = AskDef(settings=settings)
    bot.ingest()
    return bot


@pytest.mark.parametrize(
    ("question", "short"),
    [
        ("What is the hotel limit per night?", "150 euros"),
        ("How much is reimbursed for a hotel per night?", "150 euros"),
        ("How much is reimbursed for meals per day?", "40 euros"),
        ("How many days of annual leave do full-time employees get?", "twenty-five days"),
    ],
)
def test_a_short_answer_keeps_its_unit(handbook: AskDef, question: str, short: str) -> None:
    answer = handbook.ask(question)
    assert answer.short == short and short in answer.citations[0].quote


def test_no_short_answer_for_the_quantity_of_another_subject(handbook: AskDef) -> None:
    answer = handbook.ask("How many days of annual leave do part-time employees get?")
    assert "pro rata" in answer.text  # the answer says it; twenty-five days is full-time staff's
    assert answer.short is None
