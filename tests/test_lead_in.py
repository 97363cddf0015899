"""Lead-ins: a cited short opening sentence brings the sentence after it, on hand-made passages."""

from __future__ import annotations

from askdef.answer.lead_in import continuations
from askdef.text import sentence_spans
from askdef.types import Citation, Passage

THREATS = (
    "Both Europe and Japan face common security challenges. In Europe, NATO has been focused on "
    "deterring Russian aggression. For Japan, the concerns stem from China and North Korea."
)
QUESTION = "How do the security threats facing Europe and Japan differ?"


def _passage(text: str, paragraph: int = 7) -> Passage:
    return Passage(
        doc_id="a.txt", paragraph=paragraph, text=text, score=1.0, start=500, end=500 + len(text)
    )


def _cite(p: Passage, sentence: int) -> Citation:
    a, b = list(sentence_spans(p.text))[sentence]
    return Citation(
        n=1,
        doc_id=p.doc_id,
        paragraph=p.paragraph,
        quote=p.text[a:b],
        start=p.start + a,
        end=p.start + b,
    )


def test_a_cited_opener_that_only_announces_brings_the_next_sentence() -> None:
    other = _passage("Unrelated words here. And more of them.", paragraph=2)
    p = _passage(THREATS)
    assert continuations(QUESTION, [_cite(p, 0)], [other, p]) == [
        "In Europe, NATO has been focused on deterring Russian aggression. [2]"
    ]


def test_no_next_sentence_for_an_opener_with_specifics_a_later_quote_or_one_already_quoted() -> (
    None
):
    p = _passage(THREATS)
    # the question does not name Europe: the opener says something of its own
    assert (
        continuations("How do the security threats facing Japan differ?", [_cite(p, 0)], [p]) == []
    )
    assert continuations(QUESTION, [_cite(p, 1)], [p]) == []  # not the opening sentence
    assert continuations(QUESTION, [_cite(p, 0), _cite(p, 1)], [p]) == []  # next one quoted
    long_opener = _passage(
        "Both Europe and Japan face a long and growing list of common and shared security "
        "challenges. In Europe, NATO deters Russian aggression."
    )
    assert continuations(QUESTION, [_cite(long_opener, 0)], [long_opener]) == []
    alone = _passage("Both Europe and Japan face common security challenges.")
    assert continuations(QUESTION, [_cite(alone, 0)], [alone]) == []
