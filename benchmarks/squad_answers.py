"""Answer quality at scale: ``askdef eval`` on SQuAD v1.1 dev (2,067 paragraphs, 1,000 questions).

Usage, from the project root::

    .venv/bin/python benchmarks/squad_answers.py [--generator extractive] [--limit N]
        [--workdir DIR] [--out DIR] [--judge local|openai|none]

Writes the SQuAD paragraphs as a corpus (as ``benchmarks/retrieval.py`` does), indexes it in
``--workdir`` (kept, so a second run reuses the index), then runs askdef's evaluation on the
first ``--limit`` questions (all by default): the rows carry ``relevant_ids``, so retrieval and
citation metrics are scored against the question's source paragraph. The report goes to
``--out`` (report.json, report.md, report.html).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from retrieval import DEFAULT_DATA, load_jsonl, write_corpus


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--generator", default="extractive")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument(
        "--judge",
        dest="grader",
        default="none",
        help="the precision grader (citation precision): local, openai or none",
    )
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "askdef-squad"
    )
    parser.add_argument("--out", type=Path, default=Path("squad-report"))
    args = parser.parse_args()

    from askdef import AskDef, Settings
    from askdef.eval.report import write_report
    from askdef.eval.report_markdown import metrics_table

    corpus_dir = args.workdir / "corpus"
    if not corpus_dir.is_dir():
        write_corpus(load_jsonl(args.data / "corpus.jsonl"), corpus_dir)
    questions = args.workdir / f"questions-{args.limit or 'all'}.jsonl"
    lines = (args.data / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    questions.write_text("\n".join(lines[: args.limit]) + "\n", encoding="utf-8")

    bot = AskDef(
        settings=Settings(
            corpus_dir=corpus_dir, index_dir=args.workdir / "index", generator=args.generator
        )
    )
    bot.ingest()
    report = bot.evaluate(questions, k=10, grader=args.grader)
    write_report(report, args.out)
    print(metrics_table(report.metrics))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
