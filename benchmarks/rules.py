"""Each hand-written answer rule on and off, with the judge that verifies answers held fixed.

Usage (from the project root, after ``make setup``)::

    .venv/bin/python benchmarks/rules.py QUESTIONS.jsonl [--generator extractive|local]
        [--corpus DIR --index DIR] [--lines all|even|odd] [--limit N]
        [--rules all|none|NAME,...] [--same-drafts] [--out F.json]

For the base run and for each rule switched off alone, ``askdef eval`` runs the question set
(precision not judged) and the aggregate figures are printed side by side. ``--lines even``
keeps the 2nd, 4th, ... question (the bundled set's held-out half: rules were written looking
at the odd lines). ``--same-drafts`` has an LLM generator write each answer once and every
run reuse it, so a rule applied after generation is measured on the same drafts (and the run
costs one generation per question). ``benchmarks/perturbations.py --without NAME`` runs the
perturbation suite with a rule off. ``RULES`` names every rule and what switching it off does;
docs/answers.md gives each one's figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measured import commit

SHOWN = (
    "answer_coverage",
    "citation_recall",
    "refusal_accuracy",
    "false_refusal_rate",
    "mrr",
    "exact_match",
    "f1",
)
Patch = Callable[[Any], None]  # given a pytest MonkeyPatch, switches one rule off


def _cut(pattern: re.Pattern[str], piece: str) -> re.Pattern[str]:
    """``pattern`` without ``piece`` of its source (which must be there)."""
    assert piece in pattern.pattern, piece
    return re.compile(pattern.pattern.replace(piece, ""), pattern.flags)


def _steps_without(name: str) -> Patch:
    def patch(mp: Any) -> None:
        from askdef.answer import pipeline

        steps = tuple(s for s in pipeline.STEPS if type(s).__name__ != name)
        mp.setattr(pipeline, "STEPS", steps)

    return patch


def _set(module: str, **values: Any) -> Patch:
    def patch(mp: Any) -> None:
        import importlib

        target = importlib.import_module(module)
        for name, value in values.items():
            mp.setattr(target, name, value)

    return patch


def _set_attr(module: str, owner: str, **values: Any) -> Patch:
    def patch(mp: Any) -> None:
        import importlib

        target = getattr(importlib.import_module(module), owner)
        for name, value in values.items():
            mp.setattr(target, name, value)

    return patch


def _both(*patches: Patch) -> Patch:
    def patch(mp: Any) -> None:
        for p in patches:
            p(mp)

    return patch


def _min_score(mp: Any) -> None:
    from askdef.answer import extractive, relevance

    mp.setattr(extractive, "MIN_SCORE", -math.inf)
    mp.setattr(relevance, "MIN_SCORE", -math.inf)


def _word_weights(mp: Any) -> None:
    from askdef.answer import relevance

    mp.setattr(relevance.Scorer, "weight", lambda self, word: 1.0)


def _number_words(mp: Any) -> None:
    from askdef import text
    from askdef.answer import question_type as qt

    mp.setattr(text, "_NUMBER", re.compile(r"\d[\d,.]*\d|\d"))
    mp.setattr(qt, "_NUMBER", _cut(qt._NUMBER, rf"|\b{text.NUMBER_WORD}(?= {text.UNIT}\b)"))


def _qt(name: str, make: Callable[[Any], Any]) -> Patch:
    """Sets ``askdef.answer.question_type.<name>`` to ``make(module)``."""

    def patch(mp: Any) -> None:
        from askdef.answer import question_type as qt

        mp.setattr(qt, name, make(qt))

    return patch


# name -> (what switching it off does, the patch)
RULES: dict[str, tuple[str, Patch]] = {
    # before generation
    "unmentioned": (
        "no question is refused for naming what the corpus never mentions",
        _set("askdef.answer.pipeline", unmentioned=lambda query, vocabulary: []),
    ),
    "unmentioned_numbers": (
        "unmentioned looks at names only",
        _set("askdef.answer.relevance", numbers=lambda text: set()),
    ),
    "unmentioned_names": (
        "unmentioned looks at numbers only",
        _set("askdef.answer.relevance", names=lambda text: []),
    ),
    "demonyms": (
        "a demonym is not its place (Japanese is not Japan)",
        _set("askdef.text", _DEMONYMS=()),
    ),
    "number_words": (
        'a number word before a unit is no number ("twelve weeks" states nothing)',
        _number_words,
    ),
    "repeated": (
        "a follow-up's quotes that repeat the previous answer need not answer the words typed",
        _set_attr("askdef.answer.relevance", "FollowUp", repeats=lambda self, sentence: False),
    ),
    # sentence scores
    "word_weights": ("every word weighs 1 (no inverse document frequency)", _word_weights),
    "word_terms": (
        "a sentence scores its cosine alone (weights 1/0/0)",
        _set("askdef.answer.relevance", MEANING=1.0, IN_PARAGRAPH=0.0, IN_SENTENCE=0.0),
    ),
    "sentence_term": (
        "no sentence word term (weights 0.5/0.5/0)",
        _set("askdef.answer.relevance", IN_PARAGRAPH=0.5, IN_SENTENCE=0.0),
    ),
    "paragraph_term": (
        "no paragraph word term (weights 0.5/0/0.5)",
        _set("askdef.answer.relevance", IN_PARAGRAPH=0.0, IN_SENTENCE=0.5),
    ),
    # the extractive answer
    "min_score": ("no least score: the best sentences answer, the judge decides", _min_score),
    "keep_ratio": (
        "the best three sentences over MIN_SCORE, however far below the best",
        _set("askdef.answer.extractive", KEEP_RATIO=0.0),
    ),
    # the steps after a draft (RescueExtractively does nothing for the extractive generator's
    # own answers)
    "RescueExtractively": (
        "a refused LLM answer is not replaced by the extractive one",
        _steps_without("RescueExtractively"),
    ),
    "ContinueLeadIn": ("no sentence after a cited lead-in", _steps_without("ContinueLeadIn")),
    "lead_in_words": (
        "a lead-in may be of any length (LEAD_IN_WORDS)",
        _set("askdef.answer.lead_in", LEAD_IN_WORDS=math.inf),
    ),
    "lead_in_specifics": (
        "a lead-in may state names and numbers the question does not",
        _both(
            _set("askdef.answer.lead_in", numbers=lambda text: set()),
            _set("askdef.answer.lead_in", names=lambda text: []),
        ),
    ),
    # the short answer (EM and F1 only)
    "short_answer": (
        "no short answer",
        _set("askdef.answer.pipeline", short_answer=lambda question, answer, quotes: None),
    ),
    "months": (
        "a month is no time (a year still is)",
        _qt(
            "_TIME",
            lambda qt: _cut(
                qt._TIME, rf"(?:\d{{1,2}} )?{qt._MONTH}(?: \d{{1,2}}\b)?(?:,? {qt._YEAR})?|"
            ),
        ),
    ),
    "amount_names": (
        '"What is the limit/cost/fee ...?" does not ask for a number',
        _qt(
            "_WANTS_NUMBER",
            lambda qt: _cut(
                qt._WANTS_NUMBER,
                r"|what (is|are|was|were) the( \S+){0,3} (limit|maximum|minimum|cap|amount|cost"
                r"|price|rate|fee|allowance|budget|salary|wage|total)s?",
            ),
        ),
    ),
    "currency": (
        'an amount leaves out its currency ("150", not "150 euros")',
        _qt("_NUMBER", lambda qt: _cut(qt._NUMBER, rf"|{qt._CURRENCY}")),
    ),
    "short_subject": (
        "a quote about a neighbouring subject may give the short answer",
        _qt("_subject", lambda qt: lambda kind, question, quote: set()),
    ),
    "best_placed": (
        "of several times or numbers in a quote, none is chosen by its clause",
        _qt("_best_placed", lambda qt: lambda question, quote, found: found),
    ),
    # the verifier (the perturbation suite and LLM answers: an extractive answer is a copy)
    "unsourced_overlap": (
        "a sentence without markers is judged against spans however few words they share",
        _set("askdef.answer.citations", UNSOURCED_OVERLAP=0.0),
    ),
}


@contextlib.contextmanager
def same_drafts() -> Iterator[None]:
    """LLM generators answer each question about the same passages once, then repeat it."""
    import pytest

    from askdef.answer.generation import ChatGenerator

    written: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    answer = ChatGenerator.answer

    def remembered(self: ChatGenerator, question: str, passages: list[Any]) -> Iterator[str]:
        key = (question, tuple(p.text for p in passages))
        if key not in written:
            written[key] = list(answer(self, question, passages))
        yield from written[key]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ChatGenerator, "answer", remembered)
        yield


@contextlib.contextmanager
def without(rule: str | None) -> Iterator[None]:
    """The pipeline with ``rule`` switched off (None: as shipped)."""
    import pytest

    with pytest.MonkeyPatch.context() as mp:
        if rule is not None:
            RULES[rule][1](mp)
        yield


def _anchored(row: str, folder: Path) -> str:
    """A conversation row whose ``corpus`` (relative to its file) names the same folder from
    anywhere."""
    if '"corpus"' not in row:
        return row
    data = json.loads(row)
    data["corpus"] = str((folder / data["corpus"]).resolve())
    return json.dumps(data, ensure_ascii=False)


def chosen_lines(questions: Path, lines: str, limit: int | None, folder: Path) -> Path:
    """``questions``, or a copy holding its even or odd lines (numbered from 1), the first
    ``limit`` of them."""
    rows = [_anchored(row, questions.parent) for row in questions.read_text("utf-8").splitlines()]
    if lines != "all":
        rows = rows[1::2] if lines == "even" else rows[0::2]
    if lines == "all" and limit is None:
        return questions
    path = folder / f"{questions.stem}-{lines}.jsonl"
    path.write_text("\n".join(rows[:limit]) + "\n", encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", type=Path)
    parser.add_argument("--generator", default="extractive")
    parser.add_argument("--corpus", type=Path, default=Path("corpus"))
    parser.add_argument("--index", type=Path, default=Path("index"))
    parser.add_argument("--lines", choices=["all", "even", "odd"], default="all")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--rules", default="all")
    parser.add_argument("--same-drafts", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    named = {"all": tuple(RULES), "none": ()}
    chosen = named[args.rules] if args.rules in named else tuple(args.rules.split(","))
    unknown = [r for r in chosen if r not in RULES]
    if unknown:
        parser.error(f"unknown rules: {', '.join(unknown)} (known: {', '.join(RULES)})")

    from askdef import AskDef, Settings

    bot = AskDef(
        settings=Settings(corpus_dir=args.corpus, index_dir=args.index, generator=args.generator)
    )
    bot.ingest()
    results: dict[str, Any] = {"commit": commit(), "judge": bot.judge.name if bot.judge else "none"}
    print(f"| rule off | {' | '.join(SHOWN)} | p50 s |\n|---|{'---:|' * (len(SHOWN) + 1)}")
    with (
        tempfile.TemporaryDirectory(prefix="askdef-rules-") as tmp,
        same_drafts() if args.same_drafts else contextlib.nullcontext(),
    ):
        questions = chosen_lines(args.questions, args.lines, args.limit, Path(tmp))
        for rule in (None, *chosen):
            with without(rule):
                report = bot.evaluate(questions, progress=False, grader="none")
            m = report.metrics
            results[rule or "none (as shipped)"] = m
            cells = " | ".join(f"{m.get(k, float('nan')):.3f}" for k in SHOWN)
            print(
                f"| {rule or 'none (as shipped)'} | {cells} | {m.get('latency_p50', 0):.2f} |",
                flush=True,
            )
    if args.out:
        args.out.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
