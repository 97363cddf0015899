"""askdef's HTTP API, for tools that are not Python: ``/api/*``, OpenAI-style ``/v1/*``.

    GET  /api/health                 status, version, generator, whether an index exists
    POST /api/search                 {"question", "k"} -> {"query", "passages"}
    POST /api/ask                    {"question", "history", "stream"} -> Answer, or SSE events
                                     retrieved, delta, fallback, answer (error on failure)
    GET  /api/documents/{doc_id}     the indexed paragraphs of one document (JSON)
    GET  /documents/{doc_id}         the same as a readable page; #p<n> anchors, ?mark=a-b
    GET  /v1/models, POST /v1/chat/completions   askdef as an OpenAI-compatible "model"

Errors are ``{"error": message, "type": ErrorClass}`` with a 4xx/5xx status (OpenAI's shape
on ``/v1``). Only documents in the index are served, never files from disk.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Literal

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from askdef import errors
from askdef._version import __version__
from askdef.types import Answer, Delta, Fallback, Paragraph, Passage, Retrieved, StreamEvent
from askdef.web import highlight, ticking

if TYPE_CHECKING:
    from askdef.api import AskDef

MAX_BODY = 1_000_000  # bytes; the question limit itself is Settings.max_question_chars
KEEPALIVE = 5.0  # seconds of silence before an SSE comment keeps the connection open
SOURCES = "\n\nSources:\n"

_STATUS: list[tuple[type[errors.AskdefError], int]] = [
    (errors.QuestionTooLongError, 413),
    (errors.InputError, 400),
    (errors.IndexMissingError, 503),
    (errors.IndexLockedError, 503),
    (errors.StoreUnavailableError, 503),
    (errors.StoreError, 500),
    (errors.CorpusError, 500),
    (errors.ModelError, 502),
]


class ServerBusyError(errors.AskdefError):
    """Every answer slot is taken and the queue is full (HTTP 503); retry shortly."""


# --------------------------------------------------------------------------- request models


class Message(BaseModel):
    """One conversation message."""

    role: Literal["user", "assistant", "system"]
    content: str


class SearchRequest(BaseModel):
    """``POST /api/search``."""

    question: str = Field(max_length=MAX_BODY // 4)
    k: int = Field(5, ge=1, le=50, description="How many passages, best first.")


class SearchResponse(BaseModel):
    """The passages that best match the question."""

    query: str
    passages: list[Passage]


class AskRequest(BaseModel):
    """``POST /api/ask``; ``stream`` sends server-sent events instead of one Answer."""

    question: str = Field(max_length=MAX_BODY // 4)
    history: list[Message] = Field(default_factory=list, description="The conversation so far.")
    stream: bool = False


class DocumentResponse(BaseModel):
    """One indexed document, paragraph by paragraph."""

    doc_id: str
    paragraphs: list[Paragraph]


class ChatMessage(BaseModel):
    """An OpenAI chat message; text parts of list contents are joined."""

    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    """``POST /v1/chat/completions``: the last user message is the question."""

    model_config = ConfigDict(extra="allow")  # temperature, max_tokens, ... are ignored
    model: str = "askdef"
    messages: list[ChatMessage]
    stream: bool = False


# --------------------------------------------------------------------------- helpers


class Gate:
    """At most ``limit`` answers at once and ``waiting`` more queued; others get a 503."""

    def __init__(self, limit: int, waiting: int) -> None:
        self.limit = limit
        self._slots = threading.Semaphore(limit)
        self._lock = threading.Lock()
        self._waiting = 0
        self._max_waiting = waiting

    def enter(self, timeout: float) -> None:
        """Take a slot, waiting up to ``timeout`` s; ``ServerBusyError`` if none frees up."""
        with self._lock:
            if self._waiting >= self._max_waiting + self.limit:
                raise ServerBusyError("askdef is busy answering other questions; retry shortly.")
            self._waiting += 1
        try:
            if not self._slots.acquire(timeout=timeout):
                raise ServerBusyError("askdef is busy answering other questions; retry shortly.")
        finally:
            with self._lock:
                self._waiting -= 1

    def leave(self) -> None:
        """Give the slot back."""
        self._slots.release()


def error_status(exc: errors.AskdefError) -> int:
    """The HTTP status for an askdef error."""
    if isinstance(exc, ServerBusyError):
        return 503
    return next((code for cls, code in _STATUS if isinstance(exc, cls)), 500)


def _error(exc: errors.AskdefError, *, openai: bool = False) -> JSONResponse:
    kind = type(exc).__name__
    body: dict[str, Any] = (
        {"error": {"message": str(exc), "type": kind, "code": None, "param": None}}
        if openai
        else {"error": str(exc), "type": kind}
    )
    headers = {"Retry-After": "10"} if isinstance(exc, ServerBusyError) else None
    return JSONResponse(body, status_code=error_status(exc), headers=headers)


def _sse(event: str | None, data: Any) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def event_payload(event: StreamEvent) -> tuple[str, dict[str, Any]]:
    """The SSE event name and JSON data for one stream event."""
    if isinstance(event, Retrieved):
        return "retrieved", event.model_dump(mode="json")
    if isinstance(event, Delta):
        return "delta", event.model_dump(mode="json")
    if isinstance(event, Fallback):
        return "fallback", event.model_dump(mode="json")
    return "answer", event.model_dump(mode="json")


def with_sources(answer: Answer) -> str:
    """The answer text followed by a plain ``Sources:`` list, for chat clients."""
    if not answer.citations:
        return answer.text
    quotes: dict[int, list[str]] = {}
    refs: dict[int, str] = {}
    for c in answer.citations:
        quotes.setdefault(c.n, []).append(f"“{c.quote}”")
        refs[c.n] = c.ref
    lines = [f"[{n}] {refs[n]}: {' … '.join(quotes[n])}" for n in sorted(quotes)]
    return answer.text + SOURCES + "\n".join(lines)


def _history(messages: list[ChatMessage]) -> tuple[str, list[dict[str, str]]]:
    turns = [(m.role, m.text()) for m in messages if m.role in ("user", "assistant")]
    if not turns or turns[-1][0] != "user":
        raise errors.EmptyQuestionError("The last message must be the user's question.")
    history = [{"role": role, "content": text.split(SOURCES, 1)[0]} for role, text in turns[:-1]]
    return turns[-1][1], history


def document_page(doc_id: str, paragraphs: list[Paragraph], marks: list[tuple[int, int]]) -> str:
    """A self-contained, script-free HTML page of one document, ``#p<n>`` per paragraph."""
    name = highlight(doc_id, [])
    parts, section = [], None
    for p in paragraphs:
        if p.section and p.section != section:
            parts.append(f"<h2>{highlight(p.section, [])}</h2>")
        section = p.section
        local = [(a - p.start, b - p.start) for a, b in marks if a < p.end and b > p.start]
        parts.append(
            f'<p id="p{p.n}"><a class="n" href="#p{p.n}">¶{p.n}</a> {highlight(p.text, local)}</p>'
        )
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{name} · askdef</title>
<style>body{{font:16px/1.6 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;
color:#1f2328}}h1{{font-size:1.2rem;word-break:break-all}}h2{{font-size:1.05rem;margin-top:2rem}}
p{{padding:.3rem .6rem;border-radius:8px;scroll-margin-top:30vh}}
p:target{{background:#eef4ff;outline:2px solid #8bb4ff}}a.n{{color:#6e7781;text-decoration:none;
font-size:.85em;margin-right:.3rem}}mark{{background:#ffe58a;padding:1px 2px;border-radius:3px}}
</style></head><body><h1>{name}</h1>{"".join(parts)}</body></html>"""


_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
}
_STYLE = """<style>body{font:15px/1.55 system-ui,sans-serif;max-width:52rem;margin:2rem auto;
padding:0 1rem;color:#1f2328}h1{font-size:1.3rem}h2{font-size:1.05rem;margin:1.6rem 0 .3rem}
p{margin:.3rem 0}code,pre{font:13px ui-monospace,monospace;background:#f4f5f7;border-radius:6px}
code{padding:1px 4px}pre{padding:.6rem .8rem;overflow-x:auto}.m{font-weight:700;color:#0b5cad}
</style>"""
_EXAMPLE = """curl -s http://127.0.0.1:7860/api/ask -H 'Content-Type: application/json' \\
  -d '{"question": "Which European firms take part in the F-X program?"}'"""


def routes_page(schema: dict[str, Any]) -> str:
    """A script-free HTML page listing the API routes of an OpenAPI ``schema``."""
    esc = functools.partial(highlight, spans=())
    parts = [f"<h1>{esc(schema['info']['title'])} HTTP API {esc(schema['info']['version'])}</h1>"]
    parts.append(
        '<p>JSON in and out; errors are <code>{"error": message, "type": name}</code>. '
        'Machine-readable schema: <a href="openapi.json">/openapi.json</a>; interactive docs '
        '(online only): <a href="docs">/docs</a>.</p>'
    )
    parts.append(f"<pre>{esc(_EXAMPLE)}</pre>")
    for path, methods in schema.get("paths", {}).items():
        for method, spec in methods.items():
            summary = esc(spec.get("summary", ""))
            text = re.sub(r"``(.+?)``", r"<code>\1</code>", esc(spec.get("description", "")))
            text = text.replace("\n\n", "</p><p>")
            parts.append(
                f'<h2><span class="m">{method.upper()}</span> <code>{esc(path)}</code> '
                f"— {summary}</h2><p>{text}</p>"
            )
    title = f"{esc(schema['info']['title'])} API"
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"{_STYLE}</head><body>{''.join(parts)}</body></html>"
    )


# --------------------------------------------------------------------------- auth


def basic_auth(auth: tuple[str, str] | None) -> Callable[[Request], None]:
    """A dependency: HTTP basic credentials, or the chat's login cookie, when ``auth`` is set."""

    def check(request: Request) -> None:
        if auth is None:
            return
        header = request.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(encoded).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                user, password = "", ""
            if secrets.compare_digest(user.encode(), auth[0].encode()) & secrets.compare_digest(
                password.encode(), auth[1].encode()
            ):
                return
        elif _gradio_session(request):
            return
        raise _UnauthorizedError()

    return check


def _gradio_session(request: Request) -> bool:
    """Whether the request carries a live login cookie of the mounted Gradio app."""
    for route in request.app.routes:
        sub = getattr(route, "app", None)
        tokens, cookie_id = getattr(sub, "tokens", None), getattr(sub, "cookie_id", None)
        if isinstance(tokens, dict) and cookie_id:
            token = request.cookies.get(f"access-token-{cookie_id}") or request.cookies.get(
                f"access-token-unsecure-{cookie_id}"
            )
            return bool(token) and token in tokens
    return False


class _UnauthorizedError(Exception):
    pass


# --------------------------------------------------------------------------- the app


def create_api(
    bot: AskDef,
    *,
    gate: Gate,
    auth: tuple[str, str] | None = None,
    generator: tuple[str, str] = ("", ""),
) -> FastAPI:
    """The FastAPI app with askdef's routes (the chat UI is mounted on it by ``askdef.web``).

    ``gate`` bounds concurrent answers; ``generator`` is (name, model) for ``/api/health``.
    """
    app = FastAPI(
        title="askdef",
        version=__version__,
        description="Answers from a folder of documents, every claim cited to its paragraph.",
    )
    guard = [Depends(basic_auth(auth))]
    deadline = bot.settings.answer_deadline

    @app.middleware("http")
    async def limit_body(request: Request, call_next: Any) -> Any:
        size = request.headers.get("content-length", "0")
        if size.isdigit() and int(size) > MAX_BODY and "/upload" not in request.url.path:
            return JSONResponse(
                {"error": f"The request is over {MAX_BODY:,} bytes.", "type": "InputError"},
                status_code=413,
            )
        return await call_next(request)

    @app.exception_handler(errors.AskdefError)
    async def askdef_error(request: Request, exc: errors.AskdefError) -> JSONResponse:
        return _error(exc, openai=request.url.path.startswith("/v1/"))

    @app.exception_handler(_UnauthorizedError)
    async def unauthorized(request: Request, exc: _UnauthorizedError) -> JSONResponse:
        return JSONResponse(
            {"error": "Sign in: this askdef server requires a user and password.", "type": "Auth"},
            status_code=401,
            headers={"WWW-Authenticate": 'Basic realm="askdef"'},
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(x) for x in e['loc'][1:]) or 'body'}: {e['msg']}" for e in exc.errors()
        )
        return JSONResponse(
            {"error": f"Invalid request: {problems}", "type": "InputError"}, status_code=422
        )

    @app.get("/api/health", tags=["api"])
    def health() -> JSONResponse:
        """Whether askdef can answer: the index exists and the generator is named."""
        from askdef.store import open_backend

        body: dict[str, Any] = {"status": "ok", "version": __version__}
        body["generator"], body["model"] = generator
        try:
            index = open_backend(bot.settings)
            with index.guard():
                index.require_current()
            body["index"] = True
        except errors.AskdefError as exc:
            body.update(status="error", index=False, error=str(exc))
            return JSONResponse(body, status_code=503)
        return JSONResponse(body)

    @app.post("/api/search", tags=["api"], dependencies=guard)
    def search(request: SearchRequest) -> SearchResponse:
        """The ``k`` paragraphs that best match the question, best first."""
        return SearchResponse(
            query=request.question, passages=bot.search(request.question, request.k)
        )

    @app.post(
        "/api/ask",
        tags=["api"],
        dependencies=guard,
        response_model=Answer,
        responses={200: {"content": {"text/event-stream": {}}}},
    )
    def ask(request: AskRequest) -> Any:
        """Answer a question, with ``history`` (role/content messages) for a follow-up.

        With ``"stream": true`` the reply is server-sent events: ``retrieved`` (the passages,
        as soon as search is done), ``delta`` (the model's raw, unsanitized text as written),
        ``fallback`` (the LLM failed; text so far is void), then ``answer`` (the verified,
        sanitized Answer); ``error`` instead on failure. Comment lines keep the connection
        alive while a slow model reads.
        """
        history = [m.model_dump() for m in request.history]
        stream = bot.stream(request.question, history)  # checks the question before it starts
        gate.enter(deadline)
        events = ticking(lambda: stream, tick=KEEPALIVE, on_done=gate.leave)
        if not request.stream:
            answer = next(e for e in events if isinstance(e, Answer))
            return JSONResponse(answer.model_dump(mode="json"))
        return StreamingResponse(_sse_events(events), media_type="text/event-stream")

    @app.get("/api/documents/{doc_id:path}", tags=["api"], dependencies=guard, summary="Document")
    def document_json(doc_id: str) -> DocumentResponse:
        """Every indexed paragraph of one document."""
        try:
            return DocumentResponse(doc_id=doc_id, paragraphs=bot.document(doc_id))
        except KeyError:
            return _not_found(doc_id)  # type: ignore[return-value]

    @app.get(
        "/documents/{doc_id:path}",
        response_class=HTMLResponse,
        dependencies=guard,
        include_in_schema=False,
    )
    def document_html(doc_id: str, mark: list[str] = Query(default=[])) -> Any:  # noqa: B008
        try:
            paragraphs = bot.document(doc_id)
        except KeyError:
            return _not_found(doc_id)
        spans = [_span(m) for m in mark[:50]]
        return HTMLResponse(
            document_page(doc_id, paragraphs, [s for s in spans if s]), headers=_PAGE_HEADERS
        )

    @app.get("/api", response_class=HTMLResponse, include_in_schema=False)
    def api_page() -> HTMLResponse:
        """The routes as a plain page that needs no CDN (``/docs`` loads Swagger UI from one)."""
        return HTMLResponse(routes_page(app.openapi()), headers=_PAGE_HEADERS)

    @app.get("/v1/models", tags=["openai"], dependencies=guard)
    def models() -> dict[str, Any]:
        """The one "model" this server offers, for OpenAI clients that list them."""
        entry = {"id": "askdef", "object": "model", "created": 0, "owned_by": "askdef"}
        return {"object": "list", "data": [entry]}

    @app.post("/v1/chat/completions", tags=["openai"], dependencies=guard)
    def chat_completions(request: ChatRequest) -> Any:
        """OpenAI-compatible chat: the answer ends with a Sources list; ``citations`` extra.

        Streaming sends the verified answer once it is ready (keep-alive comments until
        then): an OpenAI client cannot take back streamed text. ``/api/ask`` streams raw text.
        """
        question, history = _history(request.messages)
        stream = bot.stream(question, history)
        gate.enter(deadline)
        events = ticking(lambda: stream, tick=KEEPALIVE, on_done=gate.leave)
        reply = _Completion(request.model)
        if not request.stream:
            answer = next(e for e in events if isinstance(e, Answer))
            return reply.whole(answer)
        return StreamingResponse(reply.chunks(events), media_type="text/event-stream")

    return app


class _Completion:
    """OpenAI ``chat.completion`` bodies for one answer."""

    def __init__(self, model: str) -> None:
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.model = model or "askdef"

    def _head(self, kind: str) -> dict[str, Any]:
        return {"id": self.id, "object": kind, "created": self.created, "model": self.model}

    @staticmethod
    def _extra(answer: Answer) -> dict[str, Any]:
        return {
            "citations": [c.model_dump(mode="json") for c in answer.citations],
            "askdef": {
                "generator": answer.generator,
                "model": answer.model,
                "refused": answer.refused,
                "notices": answer.notices,
            },
        }

    def whole(self, answer: Answer) -> dict[str, Any]:
        message = {"role": "assistant", "content": with_sources(answer)}
        return {
            **self._head("chat.completion"),
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            **self._extra(answer),
        }

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return {**self._head("chat.completion.chunk"), "choices": [choice]}

    def chunks(self, events: Iterator[StreamEvent | None]) -> Iterator[bytes]:
        yield _sse(None, self._chunk({"role": "assistant", "content": ""}))
        try:
            for event in events:
                if event is None:
                    yield b": keep-alive\n\n"
                elif isinstance(event, Answer):
                    for piece in _pieces(with_sources(event)):
                        yield _sse(None, self._chunk({"content": piece}))
                    yield _sse(None, {**self._chunk({}, "stop"), **self._extra(event)})
        except errors.AskdefError as exc:
            yield _sse(None, {"error": {"message": str(exc), "type": type(exc).__name__}})
        except Exception as exc:
            yield _sse(None, {"error": {"message": f"askdef failed: {exc}", "type": "Internal"}})
        yield b"data: [DONE]\n\n"


def _pieces(text: str, size: int = 40) -> Iterator[str]:
    """``text`` in small pieces that end at word boundaries, as a model would stream it."""
    start = 0
    while start < len(text):
        end = min(len(text), start + size)
        space = text.rfind(" ", start + 1, end) if end < len(text) else -1
        end = space + 1 if space > start else end
        yield text[start:end]
        start = end


def _span(mark: str) -> tuple[int, int] | None:
    start, _, end = mark.partition("-")
    return (int(start), int(end)) if start.isdigit() and end.isdigit() else None


def _not_found(doc_id: str) -> JSONResponse:
    return JSONResponse(
        {"error": f"No document {doc_id!r} in the index.", "type": "NotFound"}, status_code=404
    )


def _sse_events(events: Iterator[StreamEvent | None]) -> Iterator[bytes]:
    try:
        for event in events:
            if event is None:
                yield b": keep-alive\n\n"
                continue
            yield _sse(*event_payload(event))
    except errors.AskdefError as exc:
        yield _sse("error", {"error": str(exc), "type": type(exc).__name__})
    except Exception as exc:
        yield _sse("error", {"error": f"askdef failed: {exc}", "type": type(exc).__name__})
