"""The web app: a Gradio chat beside a sources panel, mounted on askdef's HTTP API.

``build_app(bot)`` returns one FastAPI app: the chat at ``/`` (see ``askdef.serve.ui``), the JSON
API under ``/api`` and ``/v1`` (see ``askdef.serve.http_api``), the OpenAPI schema at
``/openapi.json``. ``serve`` runs it with uvicorn on 127.0.0.1; ``main`` is what ``python app.py``
runs. Gradio and FastAPI are imported only when an app is built, so ``import askdef`` stays light.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from askdef.errors import AskdefError, InputError
from askdef.serve.chat import answer_turn  # part of this module's API: one turn of the chat

if TYPE_CHECKING:
    from fastapi import FastAPI

    from askdef.api import AskDef
    from askdef.serve.auth import Auth
    from askdef.settings import Settings

__all__ = ["answer_turn", "auth_from_env", "build_app", "ensure_index", "main", "serve"]

log = logging.getLogger("askdef.serve.web")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860


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


def build_app(
    bot: AskDef,
    *,
    auth: Auth | None = None,
    concurrency: int | None = None,
    queue_size: int | None = None,
    host: str | None = None,
) -> FastAPI:
    """One FastAPI app: the chat at ``/``, the API at ``/api`` and ``/v1``, docs at ``/docs``.

    ``auth`` (user, password) guards the chat (a login page) and every API route (HTTP basic,
    or the chat's login cookie). Concurrency and queue size default to what the generator suits.
    ``host`` is the name or address the server listens on: requests naming it are answered, as
    are those naming an address, localhost or ``Settings.allowed_hosts``.
    """
    from askdef.serve.http_api import create_api
    from askdef.serve.streaming import Gate
    from askdef.serve.ui import build_ui, mount_chat

    generator, model, problem = resolve_generator(bot)
    if problem:
        log.warning("the answer generator is unavailable: %s", problem)
    default_limit, default_queue = limits_for(generator)
    limit = concurrency or default_limit
    waiting = queue_size or default_queue
    app = create_api(bot, gate=Gate(limit, waiting), generator=(generator, model))
    demo = build_ui(
        bot,
        generator=generator,
        model=model,
        concurrency=limit,
        queue_size=waiting,
        problem=problem,
    )
    hidden = [str(bot.settings.corpus_dir.resolve()), str(bot.settings.index_dir.resolve())]
    mount_chat(app, demo, auth=auth, hidden=hidden)
    return guarded(app, bot.settings, auth, [host] if host else [])


def guarded(
    app: FastAPI, settings: Settings, auth: Auth | None, hosts: Sequence[str] = ()
) -> FastAPI:
    """``app`` behind ``askdef.serve.http_guard``'s checks, outermost first: host, origin, CORS
    for the listed origins, login, no uploads, body limit, page headers. ``hosts``: names the
    server is reached under besides ``settings.allowed_hosts`` (the name it was bound to)."""
    from starlette.middleware.cors import CORSMiddleware

    from askdef.serve.auth import signed_in
    from askdef.serve.http_guard import (
        Backoff,
        BodyLimit,
        HostGuard,
        LoginGate,
        NoUploads,
        OriginGuard,
        PageHeaders,
    )

    app.add_middleware(PageHeaders)  # each add wraps the ones before: the last runs first
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes, seconds=settings.body_timeout)
    app.add_middleware(NoUploads)
    if auth is not None:
        app.add_middleware(LoginGate, signed_in=signed_in(auth), backoff=Backoff())
    # Starlette's CORS, even with no origin listed: Gradio's own, which reflects any origin
    # with credentials on a non-localhost host name, stands aside when the parent app has it.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.cors_origins),
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
    )
    app.add_middleware(OriginGuard, allowed=settings.cors_origins)
    app.add_middleware(HostGuard, allowed=[*settings.allowed_hosts, *hosts])
    return app


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
    from askdef.index.store import open_backend

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
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
    _check_port(host, port)
    ensure_index(bot)
    print("askdef: loading the models…", file=sys.stderr)
    bot.search("warm up")  # loads the embedder and opens the index before the first visitor
    app = build_app(bot, auth=auth, host=host)
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


def _exit_on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM (``kill``, a service manager's stop) ends ``serve`` through Python's own exit,
    as Ctrl-C does, so that exit handlers run (they remove the index's private copies in the
    temporary folder). uvicorn shuts down gracefully, then raises the signal again: with
    the default action the process died there, before any exit handler."""
    raise SystemExit(0)


def default_port() -> int:
    """The port askdef serves on: ``ASKDEF_PORT``, else 7860."""
    return int(os.environ.get("ASKDEF_PORT", DEFAULT_PORT))


def add_address_arguments(parser: argparse.ArgumentParser) -> None:
    """``--host`` and ``--port``, defaulting to ``ASKDEF_HOST`` and ``ASKDEF_PORT`` (for
    ``python app.py`` and ``askdef serve`` alike)."""
    parser.add_argument(
        "--host",
        default=os.environ.get("ASKDEF_HOST", DEFAULT_HOST),
        help="address to listen on (default: 127.0.0.1, this machine only; or ASKDEF_HOST)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=default_port(),
        help="port (default: 7860, or ASKDEF_PORT); login with ASKDEF_AUTH=user:password",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``python app.py``: serve ./corpus (indexed into ./index) on http://127.0.0.1:7860."""
    from askdef.api import AskDef
    from askdef.settings import GENERATORS, Settings

    parser = argparse.ArgumentParser(prog="app.py", description="Serve the askdef web chat.")
    add_address_arguments(parser)
    parser.add_argument("--corpus", help="corpus folder (default: ./corpus or ASKDEF_CORPUS_DIR)")
    parser.add_argument("--index", help="index folder (default: ./index or ASKDEF_INDEX_DIR)")
    parser.add_argument(
        "--generator",
        choices=GENERATORS,
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
