"""What an answer streams: its draft's sentences once their citations check out, nothing else.

The draft is buffered until a sentence is complete (the next one has begun, or the draft has
ended), then its sentences so far are verified as the final answer's are (``citations.verify``
with the answer's ``Entailment``, which judges each pair once: the final check reuses these
verdicts) and the verified text not streamed yet is streamed, with its renumbered markers. A
removed sentence never streams, nor an instruction a document planted in the draft.

Before the first sentence streams, its quotes must pass the answer-level check
(``JudgeAnswered``, one judge call); if they do not, nothing streams until the final answer,
which the pipeline streams whole once it is checked.
"""

from __future__ import annotations

import re

from askdef.answer.citations import verify
from askdef.answer.claims import Claim
from askdef.answer.steps import Context, answers, judged_answerability, parsed

_ENDS = ".!?\n"  # where a sentence may end
_LETTER = re.compile(r"[^\W\d_]")  # a sentence has begun: its text is more than markers


class Shown:
    """The verified text streamed so far of one draft (``text``)."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._draft = ""
        self._due = False  # a sentence may have ended since the draft was last parsed
        self._claims = 0  # complete sentences verified so far
        self._open: bool | None = None  # the first sentence's quotes answer the question
        self.text = ""

    def feed(self, piece: str) -> str:
        """``piece`` of the draft added; the verified text to stream now ('' for none)."""
        self._draft += piece
        self._due = self._due or any(c in piece for c in _ENDS)
        if not self._due:  # nothing ended: no parse (a long sentence costs no quadratic work)
            return ""
        claims = parsed(self._draft)
        last_end = max(self._draft.rfind(c) for c in _ENDS)
        # once a letter follows the last possible end, no boundary before it can change
        self._due = not _LETTER.search(self._draft[last_end + 1 :])
        while claims and not _LETTER.search(claims[-1].text):  # markers that may still grow
            claims.pop()
        return self._verified(claims[:-1])  # the last sentence may go on

    def end(self) -> str:
        """The draft is whole: the rest of its verified text."""
        return self._verified(parsed(self._draft))

    def extend(self, text: str) -> str:
        """What of ``text`` is not streamed yet, when it continues what was ('' if not)."""
        if not text.startswith(self.text):
            return ""
        rest, self.text = text[len(self.text) :], text
        return rest

    def _verified(self, claims: list[Claim]) -> str:
        if len(claims) <= self._claims:
            return ""
        self._claims = len(claims)
        verified = verify(claims, self._ctx.passages, self._ctx.entail)
        if not verified.citations:
            return ""
        if self._open is None:
            quotes = [c.quote for c in sorted(verified.citations, key=lambda c: c.n)]
            self._open = answers(judged_answerability(quotes, self._ctx), self._ctx)
        return self.extend(verified.text) if self._open else ""
