"""The ``askdef`` command: a thin layer over ``AskDef``; errors print as one line, no traceback."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Protocol

from askdef.errors import AskdefError, IndexMismatchError
from askdef.settings import GENERATORS

if TYPE_CHECKING:
    from askdef.api import AskDef
    from askdef.client import Client
    from askdef.types import Answer, StreamEvent

EXIT_ERROR = 1
EXIT_PARTIAL = 3  # the command ran, but some corpus files could not be indexed
EXIT_MISMATCH = 4  # the index was built with other settings: `askdef index --rebuild` fixes it


def _parser() -> argparse.ArgumentParser:
    from askdef.serve.web import add_address_arguments

    parser = argparse.ArgumentParser(
        prog="askdef",
        description="Answers about a folder of documents, each claim cited to its paragraph.",
    )
    parser.add_argument("--corpus", help="corpus folder (default: ./corpus or ASKDEF_CORPUS_DIR)")
    parser.add_argument("--index", help="index folder (default: ./index or ASKDEF_INDEX_DIR)")
    sub = parser.add_subparsers(dest="command", required=True)

    index = sub.add_parser("index", help="build or update the index from the corpus")
    index.add_argument("--rebuild", action="store_true", help="discard the index and rebuild it")
    index.add_argument(
        "--check", action="store_true", help="only check that the index's parts agree"
    )
    index.set_defaults(run=_index)

    search = sub.add_parser("search", help="show the paragraphs that best match a question")
    search.add_argument("question")
    search.add_argument("-k", type=int, default=None, help="how many passages (default 5)")
    search.set_defaults(run=_search)

    ask = sub.add_parser("ask", help="answer a question from the documents, with citations")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="print the Answer as JSON")
    ask.set_defaults(run=_ask)
    chat = sub.add_parser(
        "chat", help="ask question after question (follow-ups too), the models loaded once"
    )
    chat.set_defaults(run=_chat)
    for answering in (ask, chat):
        answering.add_argument(
            "--generator",
            choices=GENERATORS,
            help="who writes the answer (default: auto, or ASKDEF_GENERATOR)",
        )
        answering.add_argument(
            "--server",
            metavar="URL",
            help="answer through a running askdef server (login from ASKDEF_AUTH); by default "
            "one on port 7860 (or ASKDEF_PORT) serving this same index is used when it runs",
        )

    ev = sub.add_parser("eval", help="score answers against a JSONL question set")
    ev.add_argument("questions", nargs="?", help="question set (JSONL, see docs/usage.md)")
    ev.add_argument("--generator", choices=GENERATORS)
    ev.add_argument("--out", default="eval-report", help="report folder (default: eval-report)")
    ev.add_argument("-k", type=int, default=5, help="retrieval depth for hit@k and MRR")
    ev.add_argument(
        "--judge",
        dest="grader",
        choices=["auto", "local", "openai", "none"],
        default="auto",
        help="the precision grader: which LLM grades citation precision, asked on its own "
        "(default auto: the openai endpoint when configured, else the local model when "
        "installed; none: not measured). The judge that verifies answers is ASKDEF_JUDGE "
        "(default: askdef's trained judge)",
    )
    ev.add_argument(
        "--compare", nargs=2, metavar=("A.json", "B.json"), help="compare two report.json files"
    )
    ev.set_defaults(run=_eval)

    serve = sub.add_parser("serve", help="serve the web chat and HTTP API")
    add_address_arguments(serve)
    serve.add_argument("--generator", choices=GENERATORS)
    serve.set_defaults(run=_serve)
    return parser


def _bot(args: argparse.Namespace, **overrides: str) -> AskDef:
    from askdef.api import AskDef
    from askdef.settings import Settings

    return AskDef(args.corpus, args.index, settings=Settings(**overrides))  # type: ignore[arg-type]


def _progress_bar(total: int) -> Callable[[int], None]:
    from tqdm import tqdm

    bar = tqdm(total=total, desc="embedding", unit="chunk", disable=None, file=sys.stderr)
    return bar.update


def _index(args: argparse.Namespace) -> int:
    if args.check:
        manifest = _bot(args).check()
        print(
            f"The index is sound: {manifest.chunks} chunks of {len(manifest.files)} file(s), "
            "each part in agreement."
        )
        return 0
    report = _bot(args).ingest(rebuild=args.rebuild, progress=_progress_bar)
    if report.repaired:
        print(f"askdef: the index was damaged {report.repaired}; rebuilt it.", file=sys.stderr)
    print(
        f"added {len(report.added)}, updated {len(report.updated)}, removed "
        f"{len(report.removed)}, unchanged {len(report.unchanged)} file(s); "
        f"{report.chunks} chunks ({report.embedded} embedded) in {report.seconds:.1f} s"
    )
    for skipped in report.skipped:
        print(f"skipped {skipped.doc_id}: {skipped.reason}", file=sys.stderr)
    # a file left out is a file whose answers are missing, whatever the reason
    return EXIT_PARTIAL if report.skipped else 0


def _search(args: argparse.Namespace) -> int:
    import textwrap

    for i, p in enumerate(_bot(args).search(args.question, k=args.k), start=1):
        where = f" — {p.section}" if p.section else ""
        print(f"[{i}] {p.ref}{where}  (score {p.score:.4f})")
        print(textwrap.indent(textwrap.shorten(p.text, width=300), "    "))
    return 0


class _Answerer(Protocol):
    """What answers: ``AskDef`` in this process, or a ``Client`` of a running server."""

    def stream(
        self, question: str, history: list[dict[str, str]] | None = None
    ) -> Iterator[StreamEvent]: ...


def _answerer(args: argparse.Namespace) -> _Answerer:
    """The server ``--server`` names; else an askdef server on the default port that serves
    this same index generation (and generator, if one is asked for), whose models are
    loaded already; else ``AskDef`` here."""
    from askdef.client import Client
    from askdef.serve.web import auth_from_env

    if args.server:
        return Client(args.server, auth=auth_from_env())
    bot = _bot(args, **({"generator": args.generator} if args.generator else {}))
    running = _running_server(bot, args.generator)
    if running is not None:
        print(f"(answering through the askdef server at {running.base_url})", file=sys.stderr)
        return running
    return bot


def _running_server(bot: AskDef, generator: str | None) -> Client | None:
    from askdef.client import Client
    from askdef.index.backend import generation_name
    from askdef.index.store import open_backend
    from askdef.serve.web import auth_from_env, default_port

    client = Client(f"http://127.0.0.1:{default_port()}", auth=auth_from_env(), connect_timeout=0.5)
    try:
        health = client.health()
        index = open_backend(bot.settings)
        with index.guard():
            ours = index.current()
    except AskdefError:  # nothing listens there, or our own index is unreadable: answer here
        client.close()
        return None
    same = ours is not None and health.get("generation") == generation_name(ours)
    if same and generator in (None, health.get("generator")):
        return client
    client.close()
    return None


def _answer(answerer: _Answerer, question: str, history: list[dict[str, str]]) -> Answer:
    from askdef.types import Answer, Fallback, Retrieved

    for event in answerer.stream(question, history):
        if isinstance(event, Retrieved):
            print(
                f"(retrieved {len(event.passages)} passages; writing the answer…)", file=sys.stderr
            )
        elif isinstance(event, Fallback):
            print(f"({event.reason})", file=sys.stderr)
        elif isinstance(event, Answer):
            return event
    raise AskdefError("The answer stream ended without an answer.")


def _ask(args: argparse.Namespace) -> int:
    answer = _answer(_answerer(args), args.question, [])
    if args.json:
        print(answer.model_dump_json(indent=2))
        return 0
    _print_answer(answer)
    return 0


def _chat(args: argparse.Namespace) -> int:
    """Questions from the terminal (or piped lines) until end of input; ``/new`` starts a new
    conversation. Ctrl-C stops the answer being written, or at the prompt, the chat."""
    answerer = _answerer(args)
    interactive = sys.stdin.isatty()
    if interactive:
        print("askdef chat: ask about the documents; /new starts over, Ctrl-D ends.")
    history: list[dict[str, str]] = []
    while True:
        try:
            line = input("? " if interactive else "")
        except EOFError:
            return 0
        question = line.strip()
        if question == "/new":
            history = []
            print("(a new conversation)")
            continue
        if not question:
            continue
        try:
            answer = _answer(answerer, question, history)
        except KeyboardInterrupt:
            print("(stopped)", file=sys.stderr)
            continue
        except AskdefError as exc:  # one bad question does not end the chat
            print(f"askdef: {exc}", file=sys.stderr)
            continue
        _print_answer(answer)
        print()
        history += [
            {"role": "user", "content": question},
            {"role": "assistant", "content": answer.text},
        ]


def _print_answer(answer: Answer) -> None:
    if answer.short:
        print(f"Short answer: {answer.short}\n")
    print(answer.text)
    for note in answer.notices:
        print(f"note: {note}")
    if answer.citations:
        print("\nSources:")
        for c in answer.citations:
            print(f"  [{c.n}] {c.ref}: “{c.quote}”")
    model = f" {answer.model}" if answer.model != answer.generator else ""
    print(f"\n(answered by {answer.generator}{model} in {answer.timings.total:.1f} s)")


def _eval(args: argparse.Namespace) -> int:
    from pathlib import Path

    from askdef.errors import InputError
    from askdef.eval.compare import compare
    from askdef.eval.formatting import judge_line
    from askdef.eval.report import write_report
    from askdef.eval.report_markdown import groups_table, metrics_table

    if args.compare:
        print(compare(Path(args.compare[0]), Path(args.compare[1])))
        return 0
    if not args.questions:
        raise InputError("Name a question set: `askdef eval eval/questions.jsonl`.")
    bot = _bot(args, **({"generator": args.generator} if args.generator else {}))
    report = bot.evaluate(args.questions, k=args.k, grader=args.grader)
    for line in report.skipped_lines:
        print(f"skipped {line}", file=sys.stderr)
    paths = write_report(report, Path(args.out))
    print(metrics_table(report.metrics))
    if report.groups:
        print(f"First turns and follow-ups:\n\n{groups_table(report.groups, k=report.k)}")
    print(f"\n{judge_line(report)}")
    print(f"report: {paths['html']} ({paths['md']}, {paths['json']})")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from askdef.serve.web import serve

    serve(
        _bot(args, **({"generator": args.generator} if args.generator else {})),
        host=args.host,
        port=args.port,
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the process exit code."""
    args = _parser().parse_args(argv)
    try:
        return int(args.run(args))
    except AskdefError as exc:
        print(f"askdef: {exc}", file=sys.stderr)
        # its own code, so that a script (the Makefile's `run`) rebuilds only then
        return EXIT_MISMATCH if isinstance(exc, IndexMismatchError) else EXIT_ERROR
    except KeyboardInterrupt as exc:
        said = "; ".join(getattr(exc, "__notes__", [])) or (
            "the index is unchanged unless a new one was published"
        )
        print(f"askdef: interrupted: {said}.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
