"""The web app: a Gradio chat beside a sources panel, mounted on askdef's HTTP API.

``build_app(bot)`` returns one FastAPI app: the chat at ``/``, the JSON API under ``/api`` and
``/v1`` (see ``askdef.http_api``), the OpenAPI schema at ``/openapi.json``. ``serve`` runs it
with uvicorn on 127.0.0.1; ``main`` is what ``python app.py`` runs. Gradio and FastAPI are
imported only when an app is built, so ``import askdef`` stays light.
"""

from __future__ import annotations

import argparse
import html
import logging
import os
import queue
import re
import socket
import sys
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from askdef.errors import AskdefError, InputError
from askdef.sanitize import sanitize
from askdef.types import Answer, Citation, Delta, Fallback, Passage, Retrieved, StreamEvent

if TYPE_CHECKING:
    from fastapi import FastAPI

    from askdef.api import AskDef

log = logging.getLogger("askdef.web")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
TICK = 1.0  # seconds between progress updates while the model is silent

Auth = tuple[str, str]
Messages = list[dict[str, str]]


# --------------------------------------------------------------------------- rendering

PLACEHOLDER = (
    "**Ask a question about the documents.**\n\n"
    "Every claim in an answer is cited to the paragraph it comes from; the sources appear on "
    "the right with the quoted words highlighted."
)

CSS = """
#askdef-header { padding: 0 4px; }
#askdef-header { align-items: center; }
#askdef-header h3 { margin: 4px 0; }
.askdef-links { text-align: right; font-size: 0.9em; }
#askdef-status { min-height: 1.6em; font-size: 0.92em; color: var(--body-text-color-subdued); }
#askdef-chat .placeholder { padding: 0 28px; }
#askdef-chat a { color: var(--color-accent); text-decoration: none; font-weight: 600; }
#askdef-status-row { align-items: center; }
#askdef-new-chat { max-width: 110px; }
.askdef-sources { font-size: 0.95em; line-height: 1.5; max-height: 78vh; overflow-y: auto;
  padding-right: 4px; }
.askdef-sources h4 { margin: 2px 0 10px; font-size: 1.02em; }
.askdef-note { color: var(--body-text-color-subdued); margin: 0 0 10px; }
.askdef-src { border: 1px solid var(--border-color-primary); border-radius: 10px;
  padding: 10px 12px; margin-bottom: 10px; background: var(--background-fill-primary); }
.askdef-src header { display: flex; gap: 8px; align-items: baseline; flex-wrap: wrap; }
.askdef-n { background: var(--color-accent); color: white; border-radius: 6px;
  padding: 0 7px; font-weight: 700; font-size: 0.9em; }
.askdef-doc { font-weight: 600; word-break: break-all; }
.askdef-par { color: var(--body-text-color-subdued); white-space: nowrap; }
.askdef-section { font-style: italic; color: var(--body-text-color-subdued); font-size: 0.92em;
  margin-top: 2px; }
.askdef-text { margin: 6px 0; }
.askdef-text mark { background: #ffe58a; color: #1f2328; padding: 1px 2px; border-radius: 3px; }
.askdef-snippet { color: var(--body-text-color-subdued); }
.askdef-open { font-size: 0.9em; }
"""

_MARKER = re.compile(r"\[(\d+)\]")
_UNSAFE_REFERENCE = re.compile(
    r"^ {0,3}\[[^\]]+\]:[ \t]*(?!https?://|#)\S.*$", re.MULTILINE | re.IGNORECASE
)
_OPEN_TAG = re.compile(r"<[A-Za-z!/][^>]*$")
_SNIPPET = 280


def safe_markdown(text: str) -> str:
    """Model text made safe for the Chatbot's Markdown: ``sanitize`` plus link definitions."""
    return _UNSAFE_REFERENCE.sub("", sanitize(text))


def highlight(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """``text`` as escaped HTML with each ``(start, end)`` span (offsets into it) in ``<mark>``."""
    merged: list[list[int]] = []
    for start, end in sorted((max(0, a), min(len(text), b)) for a, b in spans):
        if start >= end:
            continue
        if merged and not text[merged[-1][1] : start].strip():  # touching, or only spaces apart
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, pos = [], 0
    for start, end in merged:
        out.append(html.escape(text[pos:start]))
        out.append(f"<mark>{html.escape(text[start:end])}</mark>")
        pos = end
    out.append(html.escape(text[pos:]))
    return "".join(out)


def document_link(doc_id: str, paragraph: int, marks: Sequence[tuple[int, int]] = ()) -> str:
    """Relative URL of the whole-document view at ``paragraph``, quotes highlighted."""
    query = urlencode([("mark", f"{a}-{b}") for a, b in marks])
    return f"documents/{quote(doc_id)}{'?' + query if query else ''}#p{paragraph}"


def answer_markdown(answer: Answer) -> str:
    """The final answer for the chat: markers link to their source, then notes and the model."""
    refs = {c.n: c for c in answer.citations}
    marks: dict[int, list[tuple[int, int]]] = {}
    for c in answer.citations:
        marks.setdefault(c.n, []).append((c.start, c.end))

    def link(match: re.Match[str]) -> str:
        c = refs.get(int(match.group(1)))
        if c is None:
            return match.group(0)
        title = c.ref.replace('"', "'")
        return f'[[{c.n}]]({document_link(c.doc_id, c.paragraph, marks[c.n])} "{title}")'

    body = _MARKER.sub(link, safe_markdown(answer.text))
    notes = "".join(f"\n\n> ⚠ {safe_markdown(note)}" for note in answer.notices)
    model = f" · {answer.model}" if answer.model and answer.model != answer.generator else ""
    return f"{body}{notes}\n\n*— {answer.generator}{model}, {answer.timings.total:.1f} s*"


def streaming_markdown(text: str, *, waiting: str) -> str:
    """The answer while it is written (unverified), or a progress line before the first word."""
    if not text.strip():
        return f"*{waiting}*"
    return _OPEN_TAG.sub("", safe_markdown(text)) + " ▍"


def welcome_html() -> str:
    """The sources panel before the first question."""
    return (
        '<div class="askdef-sources"><h4>Sources</h4><p class="askdef-note">'
        "The paragraphs an answer cites appear here, the quoted words highlighted, each with a "
        "link to read the whole document at that paragraph.</p></div>"
    )


def _entry(n: int, passage: Passage, spans: list[tuple[int, int]], *, snippet: bool) -> str:
    text = passage.text
    if snippet and len(text) > _SNIPPET:
        body = f'<p class="askdef-text askdef-snippet">{html.escape(text[:_SNIPPET])}…</p>'
    else:
        local = [(a - passage.start, b - passage.start) for a, b in spans]
        body = f'<p class="askdef-text">{highlight(text, local)}</p>'
    section = (
        f'<div class="askdef-section">{html.escape(passage.section)}</div>'
        if passage.section
        else ""
    )
    href = html.escape(document_link(passage.doc_id, passage.paragraph, spans))
    return (
        f'<section class="askdef-src" id="askdef-source-{n}"><header>'
        f'<span class="askdef-n">{n}</span>'
        f'<span class="askdef-doc">{html.escape(passage.doc_id)}</span>'
        f'<span class="askdef-par">¶{passage.paragraph}</span></header>{section}{body}'
        f'<a class="askdef-open" href="{href}" target="_blank" rel="noopener noreferrer">'
        f"Read the whole document at ¶{passage.paragraph} ↗</a></section>"
    )


def _cited(answer: Answer, passages: Sequence[Passage]) -> list[str]:
    by_ref = {(p.doc_id, p.paragraph): p for p in passages}
    groups: dict[int, list[Citation]] = {}
    for c in answer.citations:
        groups.setdefault(c.n, []).append(c)
    entries = []
    for n in sorted(groups):
        first = groups[n][0]
        passage = by_ref.get((first.doc_id, first.paragraph)) or Passage(
            doc_id=first.doc_id,
            paragraph=first.paragraph,
            text=first.quote,
            score=0.0,
            start=first.start,
            end=first.end,
        )
        spans = [(c.start, c.end) for c in groups[n]]
        entries.append(_entry(n, passage, spans, snippet=False))
    return entries


def sources_html(answer: Answer | None, passages: Sequence[Passage]) -> str:
    """The sources panel: the cited paragraphs with quotes highlighted, or what was retrieved."""
    if answer is not None and answer.citations:
        cited = len({(c.doc_id, c.paragraph) for c in answer.citations})
        head = f"<h4>Sources · {cited} paragraph{'s' if cited > 1 else ''} cited</h4>"
        body = "".join(_cited(answer, passages))
    elif answer is not None:
        head = (
            "<h4>Sources</h4><p class='askdef-note'>No passage supports an answer. "
            "The closest paragraphs searched:</p>"
        )
        body = "".join(_entry(i, p, [], snippet=True) for i, p in enumerate(passages, 1))
    else:
        head = (
            f"<h4>Retrieved {len(passages)} passages</h4><p class='askdef-note'>"
            "The answer is being written from these; its citations will appear here.</p>"
        )
        body = "".join(_entry(i, p, [], snippet=True) for i, p in enumerate(passages, 1))
    return f'<div class="askdef-sources">{head}{body}</div>'


# --------------------------------------------------------------------------- streaming helpers


def ticking(
    start: Callable[[], Iterator[StreamEvent]],
    *,
    tick: float = TICK,
    on_done: Callable[[], None] | None = None,
) -> Iterator[StreamEvent | None]:
    """Run ``start()``'s events on a worker thread, started now; the iterator returned yields
    each event, and ``None`` every ``tick`` s of silence so a caller can show progress or keep
    a connection alive.

    Closing (or dropping) the iterator stops the worker at its next event and closes the
    stream, which stops a local model at its next token. ``on_done`` runs on the worker when
    it finishes, whether or not anyone read the events.
    """
    events: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
    stop = threading.Event()

    def work() -> None:
        try:
            stream = start()
            try:
                for event in stream:
                    events.put(("event", event))
                    if stop.is_set():
                        break
            finally:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()
        except BaseException as exc:  # handed to the consumer, not lost in the thread
            events.put(("error", exc))
        finally:
            events.put(("done", None))
            if on_done is not None:
                on_done()

    threading.Thread(target=work, name="askdef-answer", daemon=True).start()
    reader = _read(events, stop, tick)
    weakref.finalize(reader, stop.set)  # a reader dropped before its first step stops it too
    return reader


def _read(
    events: queue.SimpleQueue[tuple[str, Any]], stop: threading.Event, tick: float
) -> Iterator[StreamEvent | None]:
    try:
        while True:
            try:
                kind, payload = events.get(timeout=tick)
            except queue.Empty:
                yield None
                continue
            if kind == "done":
                return
            if kind == "error":
                raise payload
            yield payload
    finally:
        stop.set()


# --------------------------------------------------------------------------- the chat handler


@dataclass
class Turn:
    """What the UI shows after each step of one question."""

    chat: Messages
    sources: str
    status: str
    history: Messages


def _plain(content: Any) -> str:
    """Gradio 6 gives message content as a list of parts; older values are strings."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part.get("text", "") if isinstance(part, dict) else str(part) for part in content
        )
    if isinstance(content, dict):
        return str(content.get("text", ""))
    return "" if content is None else str(content)


def _messages(chat: Sequence[Any] | None) -> Messages:
    return [
        {"role": str(m.get("role", "")), "content": _plain(m.get("content"))}
        for m in chat or []
        if isinstance(m, dict)
    ]


def answer_turn(
    bot: AskDef, question: str, chat: Sequence[Any] | None, history: Messages | None
) -> Iterator[Turn]:
    """One chat turn as a sequence of screens: searching, sources, streamed text, the answer.

    ``chat`` is what the Chatbot shows (the question already last), ``history`` the plain
    conversation given to ``bot.stream`` for follow-ups. Errors end the turn as a message.
    """
    shown = _messages(chat)
    if not shown or shown[-1]["role"] != "user":
        shown.append({"role": "user", "content": question})
    past = list(history or [])
    started = time.monotonic()
    sources = welcome_html()
    status = "Searching the documents…"
    text, passages = "", 0

    def screen(reply: str) -> Turn:
        return Turn([*shown, {"role": "assistant", "content": reply}], sources, status, past)

    yield screen(streaming_markdown("", waiting="Searching the documents…"))
    try:
        stream = bot.stream(question, past)  # refuses an empty or oversized question at once
        for event in ticking(lambda: stream):
            seconds = time.monotonic() - started
            if isinstance(event, Retrieved):
                passages = len(event.passages)
                sources = sources_html(None, event.passages)
            elif isinstance(event, Delta):
                text += event.text
            elif isinstance(event, Fallback):
                text = ""
                status = f"⚠ {event.reason}"
                yield screen(streaming_markdown("", waiting="Writing the answer…"))
                continue
            elif isinstance(event, Answer):
                sources = sources_html(event, event.passages)
                status = answered_by(event)
                past = [
                    *past,
                    {"role": "user", "content": question},
                    {"role": "assistant", "content": event.text},
                ]
                yield screen(answer_markdown(event))
                return
            if passages and not status.startswith("⚠"):
                status = f"Found {passages} passages · writing the answer… {seconds:.0f} s"
            elif not passages:
                status = f"Searching the documents… {seconds:.0f} s"
            waiting = "Reading the sources…" if passages else "Searching the documents…"
            yield screen(streaming_markdown(text, waiting=f"{waiting} {seconds:.0f} s"))
    except AskdefError as exc:
        status = "⚠ " + ("Question refused" if isinstance(exc, InputError) else "Error")
        yield screen(f"⚠️ {safe_markdown(str(exc))}")
    except Exception as exc:  # never a traceback in the chat; the log has it
        log.exception("answering %r failed", question)
        status = "⚠ Error"
        problem = safe_markdown(f"{type(exc).__name__}: {exc}")
        yield screen(f"⚠️ Something went wrong inside askdef ({problem}).")


def answered_by(answer: Answer) -> str:
    """The status line for a finished answer: who wrote it, how long it took."""
    model = f" · {answer.model}" if answer.model and answer.model != answer.generator else ""
    cited = len({(c.doc_id, c.paragraph) for c in answer.citations})
    what = "not in the documents" if answer.refused else f"{cited} source{'s' if cited > 1 else ''}"
    return f"Answered by **{answer.generator}**{model} in {answer.timings.total:.1f} s · {what}"


# --------------------------------------------------------------------------- app assembly


def resolve_generator(bot: AskDef) -> tuple[str, str, str | None]:
    """``(name, model, error)`` of the bot's generator, loading it now (not on the 1st question)."""
    try:
        generator = bot.generator
    except AskdefError as exc:
        return "unavailable", "", str(exc)
    return generator.name, generator.model, None


def limits_for(generator: str) -> tuple[int, int]:
    """``(concurrent answers, queued questions)`` suited to a generator.

    The local model answers one question at a time on the CPU (~30 s each on 2 cores), so
    its queue stays short; extractive answers and a remote LLM server take a few at once.
    """
    return (1, 8) if generator in ("local", "unavailable") else (4, 32)


def build_ui(
    bot: AskDef,
    *,
    generator: str,
    model: str,
    concurrency: int,
    queue_size: int,
    problem: str | None = None,
) -> Any:
    """The Gradio Blocks: chat (left), sources panel (right), status line.

    ``problem`` (the generator failed to load) is shown in the status line from the start.
    """
    import gradio as gr

    examples = example_questions(bot)
    who = f"{generator} · {model}" if model and model != generator else generator
    ready = f"⚠ {safe_markdown(problem)}" if problem else f"Ready · answers by **{who}**"

    def submit(question: str, chat: list[Any]) -> tuple[str, list[Any], str]:
        question = (question or "").strip()
        if not question:
            return "", chat, ""
        return "", [*_messages(chat), {"role": "user", "content": question}], question

    def respond(
        question: str, chat: list[Any], history: Messages
    ) -> Iterator[tuple[Any, str, str, Messages]]:
        if not question:
            yield gr.skip(), gr.skip(), gr.skip(), history
            return
        for turn in answer_turn(bot, question, chat, history):
            yield turn.chat, turn.sources, turn.status, turn.history

    def pick(chat: list[Any], choice: gr.SelectData) -> tuple[str, list[Any], str]:
        value = choice.value
        return submit(str(value.get("text", "") if isinstance(value, dict) else value), chat)

    pick.__annotations__["choice"] = gr.SelectData  # resolved for Gradio (gradio is lazy here)

    def clear() -> tuple[list[Any], str, str, Messages, str]:
        return [], welcome_html(), ready, [], ""

    with gr.Blocks(title="askdef", fill_width=True, analytics_enabled=False) as demo:
        history = gr.State([])
        pending = gr.State("")
        with gr.Row(elem_id="askdef-header"):
            gr.Markdown(
                "### askdef — answers from your documents, every claim cited",
                elem_id="askdef-title",
            )
            gr.HTML(
                '<div class="askdef-links"><a href="api" target="_blank">HTTP API</a></div>',
                elem_id="askdef-links",
            )
        with gr.Row(equal_height=False, elem_id="askdef-main"):
            with gr.Column(scale=6, min_width=420):
                chatbot = gr.Chatbot(
                    elem_id="askdef-chat",
                    show_label=False,
                    height="62vh",
                    placeholder=PLACEHOLDER,
                    sanitize_html=True,
                    allow_tags=False,
                    feedback_options=None,
                    buttons=["copy"],
                    layout="bubble",
                    examples=[{"text": q} for q in examples],
                )
                box = gr.Textbox(
                    placeholder="Ask a question about the documents…",
                    show_label=False,
                    submit_btn="Ask",
                    autofocus=True,
                    elem_id="askdef-question",
                )
                with gr.Row(elem_id="askdef-status-row"):
                    status = gr.Markdown(ready, elem_id="askdef-status")
                    new_chat = gr.Button(
                        "New chat",
                        size="sm",
                        variant="secondary",
                        scale=0,
                        min_width=100,
                        elem_id="askdef-new-chat",
                    )
            with gr.Column(scale=5, min_width=360):
                sources = gr.HTML(welcome_html(), elem_id="askdef-sources", padding=False)
        asked = [
            box.submit(
                submit,
                [box, chatbot],
                [box, chatbot, pending],
                queue=False,
                show_progress="hidden",
                api_visibility="private",
            ),
            chatbot.example_select(
                pick,
                [chatbot],
                [box, chatbot, pending],
                queue=False,
                show_progress="hidden",
                api_visibility="private",
            ),
        ]
        for event in asked:
            event.then(
                respond,
                [pending, chatbot, history],
                [chatbot, sources, status, history],
                api_visibility="private",  # tools use /api/ask; the UI calls this by index
                concurrency_limit=concurrency,
                concurrency_id="answer",
                show_progress="minimal",
                show_progress_on=[status],
            )
        new_chat.click(
            clear,
            None,
            [chatbot, sources, status, history, pending],
            queue=False,
            api_visibility="private",
        )
        chatbot.clear(
            clear, None, [chatbot, sources, status, history, pending], api_visibility="private"
        )
    demo.queue(max_size=queue_size, default_concurrency_limit=concurrency)
    return demo


def example_questions(bot: AskDef, count: int = 3) -> list[str]:
    """``ASKDEF_EXAMPLES``, else questions on the corpus's most developed sections."""
    if bot.settings.examples:
        return list(bot.settings.examples)
    try:
        sections = Counter(
            re.sub(r"^[\d.\s]+", "", p.section)
            for doc_id in bot.documents()
            for p in bot.document(doc_id)
            if p.section
        )
    except AskdefError:
        return []
    return [f"What do the documents say about “{s}”?" for s, _ in sections.most_common(count)]


def build_app(
    bot: AskDef,
    *,
    auth: Auth | None = None,
    concurrency: int | None = None,
    queue_size: int | None = None,
) -> FastAPI:
    """One FastAPI app: the chat at ``/``, the API at ``/api`` and ``/v1``, docs at ``/docs``.

    ``auth`` (user, password) guards the chat (a login page) and every API route (HTTP basic,
    or the chat's login cookie). Concurrency and queue size default to what the generator suits.
    """
    import gradio as gr

    from askdef.http_api import Gate, create_api

    generator, model, problem = resolve_generator(bot)
    if problem:
        log.warning("the answer generator is unavailable: %s", problem)
    default_limit, default_queue = limits_for(generator)
    limit = concurrency or default_limit
    waiting = queue_size or default_queue
    app = create_api(bot, gate=Gate(limit, waiting), auth=auth, generator=(generator, model))
    demo = build_ui(
        bot,
        generator=generator,
        model=model,
        concurrency=limit,
        queue_size=waiting,
        problem=problem,
    )
    hidden = [str(bot.settings.corpus_dir.resolve()), str(bot.settings.index_dir.resolve())]
    return gr.mount_gradio_app(
        app,
        demo,
        path="/",
        auth=auth,
        auth_message="askdef: sign in with the user and password set in ASKDEF_AUTH.",
        blocked_paths=hidden,
        allowed_paths=[],
        ssr_mode=False,
        pwa=False,
        mcp_server=False,
        footer_links=[],
        enable_monitoring=False,
        max_file_size="1mb",
        show_error=True,
        css=CSS,
        theme=gr.themes.Default(
            primary_hue="blue",
            font=["ui-sans-serif", "system-ui", "sans-serif"],
            font_mono=["ui-monospace", "monospace"],
        ),
    )


# --------------------------------------------------------------------------- running it


def auth_from_env(value: str | None = None) -> Auth | None:
    """``ASKDEF_AUTH=user:password`` as a pair, or None when unset or empty."""
    raw = os.environ.get("ASKDEF_AUTH", "") if value is None else value
    if not raw:
        return None
    user, sep, password = raw.partition(":")
    if not sep or not user or not password:
        raise InputError("ASKDEF_AUTH must look like user:password (both parts non-empty).")
    return user, password


def ensure_index(bot: AskDef, poll: float = 2.0) -> None:
    """Build the index first when there is none, so a first start just works.

    An existing index is served as is (no write at startup, so replicas never contend). When
    another process is already building the first index, wait for it rather than fail: the
    writer lock is held, and a second writer would only be refused.
    """
    import time

    from askdef.errors import IndexLockedError
    from askdef.store import open_backend

    index = open_backend(bot.settings)
    waiting = False
    while True:
        with index.guard():
            if index.current() is not None:
                return
        if not waiting:
            print(
                f"askdef: no index in {_where(bot)}; indexing {bot.settings.corpus_dir} "
                "(first start only)…",
                file=sys.stderr,
            )
        try:
            report = bot.ingest(progress=_progress_bar)
        except IndexLockedError as exc:
            if not waiting:
                print(f"askdef: {exc} Waiting for its index…", file=sys.stderr)
                waiting = True
            time.sleep(poll)
            continue
        print(
            f"askdef: indexed {len(report.added)} file(s), {report.chunks} chunks "
            f"in {report.seconds:.1f} s",
            file=sys.stderr,
        )
        return


def _where(bot: AskDef) -> str:
    settings = bot.settings
    return (
        f"the Chroma server {settings.chroma_url}"
        if settings.chroma_url
        else str(settings.index_dir)
    )


def _progress_bar(total: int) -> Callable[[int], None]:
    from tqdm import tqdm

    bar = tqdm(total=total, desc="askdef: embedding", unit="chunk", file=sys.stderr)
    return bar.update


def _check_port(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: a
        try:  # port with closed connections in TIME_WAIT is free, only a listener blocks it
            probe.bind((host, port))
        except OSError as exc:
            raise InputError(
                f"Cannot listen on {host}:{port} ({exc.strerror}): is askdef already running? "
                "Stop it or pick another port with --port."
            ) from exc


def serve(
    bot: AskDef,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    auth: Auth | None = None,
) -> None:
    """Index if needed, load the models, then serve the chat and API until interrupted.

    Binds 127.0.0.1 unless ``host`` says otherwise; ``auth`` defaults to ``ASKDEF_AUTH``.
    Never creates a public share link.
    """
    import uvicorn

    auth = auth or auth_from_env()
    _check_port(host, port)
    ensure_index(bot)
    print("askdef: loading the models…", file=sys.stderr)
    bot.search("warm up")  # loads the embedder and opens the index before the first visitor
    app = build_app(bot, auth=auth)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    where = f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"
    print(
        f"askdef: ready — open {where} (HTTP API: {where}/api)"
        + (" · login required" if auth else ""),
        file=sys.stderr,
    )
    if host not in ("127.0.0.1", "localhost", "::1") and not auth:
        print(
            f"askdef: warning: listening on {host} without a login; set ASKDEF_AUTH=user:password",
            file=sys.stderr,
        )
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)


def main(argv: Sequence[str] | None = None) -> int:
    """``python app.py``: serve ./corpus (indexed into ./index) on http://127.0.0.1:7860."""
    from askdef.api import AskDef
    from askdef.settings import Settings

    parser = argparse.ArgumentParser(prog="app.py", description="Serve the askdef web chat.")
    parser.add_argument(
        "--host",
        default=os.environ.get("ASKDEF_HOST", DEFAULT_HOST),
        help="address to listen on (default: 127.0.0.1, this machine only; or ASKDEF_HOST)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("ASKDEF_PORT", DEFAULT_PORT)),
        help="port (default: 7860, or ASKDEF_PORT); login with ASKDEF_AUTH=user:password",
    )
    parser.add_argument("--corpus", help="corpus folder (default: ./corpus or ASKDEF_CORPUS_DIR)")
    parser.add_argument("--index", help="index folder (default: ./index or ASKDEF_INDEX_DIR)")
    parser.add_argument(
        "--generator",
        choices=["auto", "openai", "local", "extractive"],
        help="who writes the answers (default: auto, or ASKDEF_GENERATOR)",
    )
    args = parser.parse_args(argv)
    try:
        overrides = {"generator": args.generator} if args.generator else {}
        bot = AskDef(args.corpus, args.index, settings=Settings(**overrides))  # type: ignore[arg-type]
        serve(bot, host=args.host, port=args.port)
    except AskdefError as exc:
        print(f"askdef: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
