"""Lead-ins: a paragraph's short opening sentence that announces what the paragraph then says.

"Both Europe and Japan face common security challenges." cites a real sentence and answers
nothing: the challenges are in the next sentence. An answer that cites such an opener gets
that next sentence too (``continuations``).

A cited quote is a *lead-in* when it is exactly the first sentence of a paragraph that has
another, it has at most ``LEAD_IN_WORDS`` words, and it states no name or number the question
does not (it adds no specifics of its own). (Measured on saved answers: the next sentence
completes 2 of the 62 answerable bundled questions for the local and for the extractive
generator, and adds 0.0017 to the coverage of the 1,000 SQuAD ones; 10 words give the same
bundled coverage, 8 complete only one. In a full local run it completed the same 2.)
"""

from __future__ import annotations

from askdef.text import content_words, mentions, names, numbers, sentence_spans, words
from askdef.types import Citation, Passage

LEAD_IN_WORDS = 12


def continuations(question: str, citations: list[Citation], passages: list[Passage]) -> list[str]:
    """The sentence after each cited lead-in of ``passages`` that no citation quotes yet, with
    the ``[n]`` marker of its passage (numbered from 1, in ``passages`` order)."""
    asked = content_words(question)
    added: list[str] = []
    for i, p in enumerate(passages):
        spans = list(sentence_spans(p.text))
        if len(spans) < 2:
            continue
        (a, b), (c, d) = spans[0], spans[1]
        opener = (p.doc_id, p.start + a, p.start + b)
        cites_opener = any((x.doc_id, x.start, x.end) == opener for x in citations)
        next_quoted = any(x.overlaps(p.doc_id, p.start + c, p.start + d) for x in citations)
        if cites_opener and not next_quoted and _announces(p.text[a:b], question, asked):
            added.append(f"{p.text[c:d]} [{i + 1}]")
    return added


def _announces(sentence: str, question: str, asked: set[str]) -> bool:
    return (
        len(words(sentence)) <= LEAD_IN_WORDS
        and numbers(sentence) <= numbers(question)
        and all(mentions(asked, name) for name in names(sentence))
    )
