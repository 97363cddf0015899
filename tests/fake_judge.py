"""A scripted entailment judge for unit tests: yes exactly where the test says so."""

from __future__ import annotations

from askdef.errors import GenerationError


class ScriptedJudge:
    """Says yes (1.0) to each claim given as a string, whatever the premise, and to each
    ``(premise, claim)`` pair given; no (0.0) to the rest, or yes to everything; ``fail``
    makes it raise. Every entailment asked is kept in ``asked``. Asked whether a text answers
    a question, it says yes unless the question is in ``unanswered``."""

    name = "scripted"
    entailed = 0.5
    answered = 0.5

    def __init__(self, *yes: str | tuple[str, str], everything: bool = False) -> None:
        self.claims = {y for y in yes if isinstance(y, str)}
        self.pairs = {y for y in yes if isinstance(y, tuple)}
        self.everything = everything
        self.fail: str | None = None
        self.asked: list[tuple[str, str]] = []
        self.unanswered: set[str] = set()

    def entailment(self, premise: str, claim: str) -> float:
        self.asked.append((premise, claim))
        if self.fail:
            raise GenerationError(self.fail)
        return float(self.everything or claim in self.claims or (premise, claim) in self.pairs)

    def answers(self, premise: str, question: str) -> float:
        if self.fail:
            raise GenerationError(self.fail)
        return float(question not in self.unanswered)
