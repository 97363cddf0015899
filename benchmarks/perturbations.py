"""Citations that mean what they say, through the whole pipeline: the perturbation suite.

Usage (from the project root, after ``make setup``)::

    .venv/bin/python benchmarks/perturbations.py [--judge trained|local|openai] [--out F.json]
        [--without RULE]

A scripted OpenAI-compatible HTTP server (``tests/fake_openai.py``) answers each question of
``tests/data/perturbations.json`` with one sentence that copies, shortens, paraphrases or
contradicts (negation, antonym, swapped roles, wrong entity, "only", certainty, inverted or
added cause, added date or actor) the paragraph it cites; askdef retrieves, verifies with the
chosen judge and shows the sentence or not (fallback off: what is measured is the model's
sentence, not a rescue). Cases are on the bundled corpus and on invented documents of other
topics (``tests/data/other_topic``). Prints faithful kept and unfaithful shown, by kind.
``--without`` switches off one of ``benchmarks/rules.py``'s rules.
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

from fake_openai import FakeOpenAI  # noqa: E402

DATA = ROOT / "tests" / "data"
FAITHFUL = {"copy", "shortening", "paraphrase"}


def cases() -> list[tuple[str, str, str, str]]:
    """(question, source sentence, kind, claim) for every claim of the suite."""
    groups = json.loads((DATA / "perturbations.json").read_text(encoding="utf-8"))
    return [(g["question"], g["source"], c["kind"], c["text"]) for g in groups for c in g["claims"]]


def run(judge: str, workdir: Path) -> dict[str, object]:
    """The suite through the pipeline with ``judge``, in a fresh index under ``workdir``."""
    from askdef import AskDef, Settings

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
        bot = AskDef(settings=settings)
        bot.ingest()
        shown: Counter[str] = Counter()
        total: Counter[str] = Counter()
        wrong, silent, seconds = [], [], []
        for question, source, kind, claim in cases():
            server.script = [("say", claim, source)]
            started = time.perf_counter()
            answer = bot.ask(question)
            seconds.append(time.perf_counter() - started)
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
        "judge": bot.judge.name if bot.judge else "none",
        "faithful_kept": sum(shown[k] for k in FAITHFUL) / faithful,
        "unfaithful_shown": (sum(shown.values()) - sum(shown[k] for k in FAITHFUL)) / unfaithful,
        "by_kind": {k: f"{shown[k]}/{total[k]}" for k in sorted(total)},
        "wrong": wrong,
        "silently_removed": silent,
        "seconds_p50": sorted(seconds)[len(seconds) // 2],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--judge", default="trained", choices=["trained", "cascade", "local", "openai"]
    )
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--without", choices=sorted(RULES), default=None)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="askdef-perturbations-") as tmp,
        without(args.without),
    ):
        result = run(args.judge, Path(tmp))
    result["without"] = args.without
    if args.out:
        args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
