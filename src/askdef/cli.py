"""The ``askdef`` command: a thin layer over ``AskDef``; errors print as one line, no traceback."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from askdef.errors import AskdefError

EXIT_ERROR = 1
EXIT_PARTIAL = 3  # the command ran, but some corpus files could not be indexed


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="askdef",
        description="Answers about a folder of documents, each claim cited to its paragraph.",
    )
    parser.add_argument("--corpus", help="corpus folder (default: ./corpus or ASKDEF_CORPUS_DIR)")
    parser.add_argument("--index", help="index folder (default: ./index or ASKDEF_INDEX_DIR)")
    sub = parser.add_subparsers(dest="command", required=True)

    index = sub.add_parser("index", help="build or update the index from the corpus")
    index.add_argument("--rebuild", action="store_true", help="discard the index and rebuild it")
    index.set_defaults(run=_index)

    search = sub.add_parser("search", help="show the paragraphs that best match a question")
    search.add_argument("question")
    search.add_argument("-k", type=int, default=None, help="how many passages (default 5)")
    search.set_defaults(run=_search)
    return parser


def _bot(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from askdef.api import AskDef

    return AskDef(corpus_dir=args.corpus, index_dir=args.index)


def _progress_bar(total: int) -> Callable[[int], None]:
    from tqdm import tqdm

    bar = tqdm(total=total, desc="embedding", unit="chunk", disable=None, file=sys.stderr)
    return bar.update


def _index(args: argparse.Namespace) -> int:
    report = _bot(args).ingest(rebuild=args.rebuild, progress=_progress_bar)
    print(
        f"added {len(report.added)}, updated {len(report.updated)}, removed "
        f"{len(report.removed)}, unchanged {len(report.unchanged)} file(s); "
        f"{report.chunks} chunks ({report.embedded} embedded) in {report.seconds:.1f} s"
    )
    failed = [s for s in report.skipped if s.reason != "unsupported file type"]
    for skipped in report.skipped:
        print(f"skipped {skipped.doc_id}: {skipped.reason}", file=sys.stderr)
    return EXIT_PARTIAL if failed else 0


def _search(args: argparse.Namespace) -> int:
    import textwrap

    for i, p in enumerate(_bot(args).search(args.question, k=args.k), start=1):
        where = f" — {p.section}" if p.section else ""
        print(f"[{i}] {p.ref}{where}  (score {p.score:.4f})")
        print(textwrap.indent(textwrap.shorten(p.text, width=300), "    "))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the process exit code."""
    args = _parser().parse_args(argv)
    try:
        return int(args.run(args))
    except AskdefError as exc:
        print(f"askdef: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(
            "askdef: interrupted; the index is unchanged unless a new one was published.",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
