"""askdef's HTTP API, for tools that are not Python: ``/api/*``, OpenAI-style ``/v1/*``.

    GET  /api/health                 status, version, generator, whether an index exists
    POST /api/search                 {"question", "k"} -> {"query", "passages"}
    POST /api/ask                    {"question", "history", "stream"} -> Answer, or SSE events
                                     retrieved, delta, fallback, answer (error on failure)
    GET  /api/documents/{doc_id}     the indexed paragraphs of one document (JSON)
    GET  /documents/{doc_id}         the same as a readable page; #p<n> anchors, ?mark=a-b
    GET  /files/{doc_id}             an indexed PDF's original bytes (the page links' target)
    GET  /v1/models, POST /v1/chat/completions   askdef as an OpenAI-compatible "model"

Errors are ``{"error": message, "type": ErrorClass}`` with a 4xx/5xx status (OpenAI's shape
on ``/v1``), at every route, the mounted chat's included (``install_error_handlers``). Only
documents in the index are served, and of files on disk only indexed PDFs, as indexed (found
through the manifest and checked by sha256), never a path a request names. The login, body
limit and origin
checks stand in front of all routes (``askdef.serve.http_guard``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from askdef import errors
from askdef._version import __version__
from askdef.safe_output import plain
from askdef.serve.openai_compat import (
    MODELS,
    ChatRequest,
    Completion,
    error_body,
    question_and_history,
)
from askdef.serve.render import document_page, original_link, routes_page
from askdef.serve.streaming import (
    Gate,
    ServerBusyError,
    final_answer,
    sse_events,
    ticking_async,
)
from askdef.types import Answer, Paragraph, Passage, StreamEvent

if TYPE_CHECKING:
    from askdef.api import AskDef

KEEPALIVE = 5.0  # seconds of silence before an SSE comment keeps the connection open

_STATUS: list[tuple[type[errors.AskdefError], int]] = [
    (ServerBusyError, 503),
    (errors.QuestionTooLongError, 413),
    (errors.InputError, 400),
    (errors.IndexMissingError, 503),
    (errors.IndexLockedError, 503),
    (errors.StoreUnavailableError, 503),
    (errors.StoreError, 500),
    (errors.CorpusError, 500),
    (errors.ModelError, 502),
]
_HTTP_KINDS = {401: "Auth", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed"}
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
}


# --------------------------------------------------------------------------- request models


class Message(BaseModel):
    """One conversation message."""

    role: Literal["user", "assistant", "system"]
    content: str


class SearchRequest(BaseModel):
    """``POST /api/search``."""

    question: str
    k: int = Field(5, ge=1, le=50, description="How many passages, best first.")


class SearchResponse(BaseModel):
    """The passages that best match the question."""

    query: str
    passages: list[Passage]


class AskRequest(BaseModel):
    """``POST /api/ask``; ``stream`` sends server-sent events instead of one Answer."""

    question: str
    history: list[Message] = Field(default_factory=list, description="The conversation so far.")
    stream: bool = False


class DocumentResponse(BaseModel):
    """One indexed document, paragraph by paragraph."""

    doc_id: str
    paragraphs: list[Paragraph]


# --------------------------------------------------------------------------- errors


def error_status(exc: errors.AskdefError) -> int:
    """The HTTP status for an askdef error."""
    return next((code for cls, code in _STATUS if isinstance(exc, cls)), 500)


def _failure(
    message: str, kind: str, status: int, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"error": plain(message), "type": kind}  # messages quote requests and LLM errors
    return JSONResponse(body, status_code=status, headers=headers)


def _error(exc: errors.AskdefError, *, openai: bool = False) -> JSONResponse:
    headers = {"Retry-After": "10"} if isinstance(exc, ServerBusyError) else None
    if openai:
        return JSONResponse(error_body(exc), status_code=error_status(exc), headers=headers)
    return _failure(str(exc), type(exc).__name__, error_status(exc), headers)


def _not_found(doc_id: str) -> JSONResponse:
    return _failure(f"No document {doc_id!r} in the index.", "NotFound", 404)


def _span(mark: str) -> tuple[int, int] | None:
    start, _, end = mark.partition("-")
    return (int(start), int(end)) if start.isdigit() and end.isdigit() else None


def install_error_handlers(app: Any) -> None:
    """askdef's error shape for every failure ``app`` (a FastAPI app) can have: askdef's own
    errors, HTTP errors (404, 405 …), invalid requests, and anything unexpected (a 500
    without a traceback: the log has it)."""

    def shaped(request: Request, message: str, kind: str, status: int) -> JSONResponse:
        if request.url.path.startswith("/v1/"):
            body = {"error": {"message": plain(message), "type": kind, "code": None, "param": None}}
            return JSONResponse(body, status_code=status)
        return _failure(message, kind, status)

    async def askdef_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, errors.AskdefError)
        return _error(exc, openai=request.url.path.startswith("/v1/"))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code < 400:  # a redirect or "not modified" raised as an exception
            return Response(status_code=exc.status_code, headers=exc.headers)
        detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        kind = _HTTP_KINDS.get(exc.status_code, "HTTPError")
        response = shaped(request, detail, kind, exc.status_code)
        response.headers.update(exc.headers or {})
        return response

    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = "; ".join(
            f"{'.'.join(str(x) for x in e['loc'][1:]) or 'body'}: {e['msg']}" for e in exc.errors()
        )
        return shaped(request, f"Invalid request: {problems}", "InputError", 422)

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:  # uvicorn logs it
        message = f"askdef failed on this request ({type(exc).__name__}); the server log has more."
        return shaped(request, message, "Internal", 500)

    app.add_exception_handler(errors.AskdefError, askdef_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(Exception, unexpected)


# --------------------------------------------------------------------------- the app


def create_api(bot: AskDef, *, gate: Gate, generator: tuple[str, str] = ("", "")) -> FastAPI:
    """The FastAPI app with askdef's routes (the chat UI is mounted on it by ``askdef.serve.web``).

    ``gate`` bounds concurrent answers; ``generator`` is (name, model) for ``/api/health``.
    """
    app = FastAPI(
        title="askdef",
        version=__version__,
        description="Answers from a folder of documents, every claim cited to its paragraph.",
    )
    deadline = bot.settings.answer_deadline

    async def answering(
        question: str, history: list[dict[str, str]]
    ) -> AsyncIterator[StreamEvent | None]:
        """The answer's events, once it has a slot. Only ``bot.stream`` (it checks the question
        before a slot is taken, and opens the index) borrows a thread of the shared pool; the
        wait for a slot and for the model is on the event loop, so queued questions leave
        the pool to health, search and the other routes."""
        stream = await run_in_threadpool(bot.stream, question, history)
        await gate.enter(deadline)
        return ticking_async(lambda: stream, tick=KEEPALIVE, on_done=gate.leave)

    install_error_handlers(app)

    @app.get("/api/health", tags=["api"])
    def health() -> JSONResponse:
        """Whether askdef can answer: the index exists (``generation`` names the live one), each
        of its ``parts`` is sound ("ok", or what is wrong), and the generator is named."""
        from askdef.index.backend import generation_name
        from askdef.index.check import PARTS
        from askdef.index.store import open_backend

        body: dict[str, Any] = {"status": "ok", "version": __version__}
        body["generator"], body["model"] = generator
        try:
            index = open_backend(bot.settings)
            with index.guard():
                body["generation"] = generation_name(index.require_current())
            bot.check()  # what search opens: every part read and compared
            body.update(index=True, parts=dict.fromkeys(PARTS, "ok"))
        except errors.AskdefError as exc:
            body.update(status="error", index=False, error=plain(str(exc)))
            if isinstance(exc, errors.IndexCorruptError):
                body["parts"] = {part: exc.problems.get(part, "ok") for part in PARTS}
            return JSONResponse(body, status_code=503)
        return JSONResponse(body)

    @app.post("/api/search", tags=["api"])
    def search(request: SearchRequest) -> SearchResponse:
        """The ``k`` paragraphs that best match the question, best first."""
        return SearchResponse(
            query=request.question, passages=bot.search(request.question, request.k)
        )

    @app.post(
        "/api/ask",
        tags=["api"],
        response_model=Answer,
        responses={200: {"content": {"text/event-stream": {}}}},
    )
    async def ask(request: AskRequest) -> Any:
        """Answer a question, with ``history`` (role/content messages) for a follow-up.

        With ``"stream": true`` the reply is server-sent events: ``retrieved`` (the passages,
        as soon as search is done), ``delta`` (each sentence once its citations check out,
        with its markers, escaped so that Markdown builds no HTML, image or link from it),
        ``fallback`` (another generator answers; text so far is void), then ``answer`` (the
        verified Answer, plain text: its text starts with the deltas', unless
        ``replaces_stream``); ``error`` instead on failure. Comment lines keep the connection
        alive while a slow model reads.
        """
        events = await answering(request.question, [m.model_dump() for m in request.history])
        if not request.stream:
            return JSONResponse((await final_answer(events)).model_dump(mode="json"))
        return StreamingResponse(sse_events(events), media_type="text/event-stream")

    @app.get("/api/documents/{doc_id:path}", tags=["api"], summary="Document")
    def document_json(doc_id: str) -> DocumentResponse:
        """Every indexed paragraph of one document."""
        try:
            return DocumentResponse(doc_id=doc_id, paragraphs=bot.document(doc_id))
        except KeyError:
            return _not_found(doc_id)  # type: ignore[return-value]

    @app.get(
        "/documents/{doc_id:path}",
        response_class=HTMLResponse,
        include_in_schema=False,
    )
    def document_html(doc_id: str, mark: list[str] = Query(default=[])) -> Any:  # noqa: B008
        try:
            paragraphs = bot.document(doc_id)
        except KeyError:
            return _not_found(doc_id)
        spans = [_span(m) for m in mark[:50]]
        original = original_link(doc_id) if any(p.page for p in paragraphs) else None
        return HTMLResponse(
            document_page(doc_id, paragraphs, [s for s in spans if s], original),
            headers=_PAGE_HEADERS,
        )

    @app.get("/files/{doc_id:path}", include_in_schema=False)
    def original_file(doc_id: str) -> Response:
        """An indexed PDF as the browser's viewer opens it (``#page=N`` in the link)."""
        try:
            data = bot.original(doc_id)
        except KeyError:
            return _not_found(doc_id)
        name = quote(doc_id.rsplit("/", 1)[-1])
        # application/pdf with nosniff: the browser's PDF viewer shows it, nothing runs it as
        # a page (the guard adds nosniff; a page CSP here would be the viewer's, not the PDF's)
        return Response(
            data,
            media_type="application/pdf",
            headers={"Content-Disposition": f"inline; filename*=UTF-8''{name}"},
        )

    @app.get("/api", response_class=HTMLResponse, include_in_schema=False)
    def api_page() -> HTMLResponse:
        """The routes as a plain page that needs no CDN (``/docs`` loads Swagger UI from one)."""
        return HTMLResponse(routes_page(app.openapi()), headers=_PAGE_HEADERS)

    @app.get("/v1/models", tags=["openai"])
    def models() -> dict[str, Any]:
        """The one "model" this server offers, for OpenAI clients that list them."""
        return MODELS

    @app.post("/v1/chat/completions", tags=["openai"])
    async def chat_completions(request: ChatRequest) -> Any:
        """OpenAI-compatible chat: the answer ends with a Sources list; ``citations`` extra.

        Streaming sends each sentence once its citations check out, the rest and the Sources
        at the end (keep-alive comments meanwhile); an OpenAI client cannot take back
        streamed text, so text that turns out void is followed by a line that withdraws it.
        """
        events = await answering(*question_and_history(request.messages))
        reply = Completion(request.model)
        if not request.stream:
            return reply.whole(await final_answer(events))
        return StreamingResponse(reply.chunks(events), media_type="text/event-stream")

    return app
