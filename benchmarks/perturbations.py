"""Citations that mean what they say, through the whole pipeline: the perturbation suite.

Usage (from the project root, after ``make setup``)::

    .venv/bin/python benchmarks/perturbations.py [--judge trained|cascade|local] [--out F.json]
        [--without RULE] [--unmarked]

A scripted OpenAI-compatible HTTP server (``tests/fake_openai.py``) answers each question of
``tests/data/perturbations.json`` with one sentence that copies, shortens, paraphrases or
contradicts (negation, antonym, swapped roles, wrong entity, "only", certainty, inverted or
added cause, added date or actor) the paragraph it cites; askdef retrieves, verifies with the
chosen judge and shows the sentence or not (fallback off: what is measured is the model's
sentence, not a rescue). The LLM that judges (``local``, and the pairs the ``cascade`` leaves to
an LLM) is the packaged local model, never the scripted writer, which cannot answer yes/no.
Cases are on the bundled corpus and on invented documents of other topics
(``tests/data/other_topic``). Prints faithful kept and unfaithful shown, by kind, the support
pairs judged (those not copied word for word) and how many of them reached the LLM, and the
judge's seconds (the LLM's load included, on its first pair).
``--without`` switches off one of ``benchmarks/rules.py``'s rules. A claim is written with the
marker of the block holding its source sentence, or without one when retrieval left that
sentence out of the prompt (counted); ``--unmarked`` writes every claim without a marker, as
small models forget them, so each one is checked against the passages sharing most of its words.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from measured import commit  # noqa: E402
from rules import RULES, without  # noqa: E402

from askdef.answer.entailment import Judge  # noqa: E402
from askdef.answer.trained_judge import CascadeJudge, TrainedJudge  # noqa: E402
from fake_openai import FakeOpenAI  # noqa: E402

DATA = ROOT / "tests" / "data"
FAITHFUL = {"copy", "shortening", "paraphrase"}


def cases() -> list[tuple[str, str, str, str]]:
    """(question, source sentence, kind, claim) for every claim of the suite."""
    groups = json.loads((DATA / "perturbations.json").read_text(encoding="utf-8"))
    return [(g["question"], g["source"], c["kind"], c["text"]) for g in groups for c in g["claims"]]


class Counted:
    """A judge that counts the support pairs it is asked about."""

    def __init__(self, judge: Judge | None) -> None:
        assert judge is not None
        self.judge = judge
        self.name, self.entailed, self.answered = judge.name, judge.entailed, judge.answered
        self.pairs = 0

    def entailment(self, premise: str, claim: str) -> float:
        self.pairs += 1
        return self.judge.entailment(premise, claim)

    def answers(self, premise: str, question: str) -> float:
        return self.judge.answers(premise, question)

    def to_llm(self) -> int:
        """The pairs an LLM judged: a cascade's band, every pair of an LLM judge."""
        if isinstance(self.judge, CascadeJudge):
            return self.judge.asked_second
        return 0 if isinstance(self.judge, TrainedJudge) else self.pairs


def run(judge: str, workdir: Path, *, unmarked: bool = False) -> dict[str, object]:
    """The suite through the pipeline with ``judge``, in a fresh index under ``workdir``;
    ``unmarked``: every claim written without its marker."""
    from askdef import AskDef, Settings
    from askdef.answer.generation import make_judge

    corpus = Path(shutil.copytree(ROOT / "corpus", workdir / "corpus", dirs_exist_ok=True))
    shutil.copytree(DATA / "other_topic", corpus / "other_topic", dirs_exist_ok=True)
    with (
        FakeOpenAI([("text", "unused")]) as server,
        mock.patch.dict(os.environ, {"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "key"}),
    ):
        settings = Settings(
            corpus_dir=corpus,
            index_dir=workdir / "index",
            generator="openai",
            judge=judge,  # type: ignore[arg-type]
            model="fake",
            fallback=False,
        )
        counted = Counted(make_judge(settings, "openai", choice=judge, llm="local"))
        bot = AskDef(settings=settings, judge=counted)
        bot.ingest()
        shown: Counter[str] = Counter()
        total: Counter[str] = Counter()
        wrong, silent, seconds, judging = [], [], [], []
        written_unmarked = 0
        for question, source, kind, claim in cases():
            server.script = [("text", claim)] if unmarked else [("say", claim, source)]
            started = time.perf_counter()
            answer = bot.ask(question)
            seconds.append(time.perf_counter() - started)
            judging.append(answer.timings.judge)
            written_unmarked += (
                unmarked or source not in server.requests[-1]["messages"][-1]["content"]
            )
            cited = not answer.refused and claim.removesuffix(".") in answer.text
            total[kind] += 1
            shown[kind] += cited
            if cited != (kind in FAITHFUL):
                wrong.append(f"{kind}: {claim}")
            if not cited and not answer.refused and not answer.notices:
                silent.append(f"{kind}: {claim}")  # removed without telling the user
    faithful = sum(total[k] for k in FAITHFUL)
    unfaithful = sum(total.values()) - faithful
    return {
        "commit": commit(),
        "judge": counted.name,
        "faithful_kept": sum(shown[k] for k in FAITHFUL) / faithful,
        "unfaithful_shown": (sum(shown.values()) - sum(shown[k] for k in FAITHFUL)) / unfaithful,
        "by_kind": {k: f"{shown[k]}/{total[k]}" for k in sorted(total)},
        "wrong": wrong,
        "silently_removed": silent,
        "seconds_p50": sorted(seconds)[len(seconds) // 2],
        "written_unmarked": written_unmarked,
        "judged_pairs": counted.pairs,
        "pairs_to_llm": counted.to_llm(),
        "judge_seconds": round(sum(judging), 1),
        "judge_seconds_p50": sorted(judging)[len(judging) // 2],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--judge", default="trained", choices=["trained", "cascade", "local"])
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--without", choices=sorted(RULES), default=None)
    parser.add_argument("--unmarked", action="store_true")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="askdef-perturbations-") as tmp,
        without(args.without),
    ):
        result = run(args.judge, Path(tmp), unmarked=args.unmarked)
    result["without"] = args.without
    result["unmarked"] = args.unmarked
    if args.out:
        args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
