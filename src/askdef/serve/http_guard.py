"""What stands in front of every route, askdef's and Gradio's alike (pure ASGI middleware).

- ``HostGuard``: a request for a host name askdef does not serve under is refused (421), so
  a page whose name an attacker re-points at 127.0.0.1 (DNS rebinding) reads nothing: the
  browser calls that page same-origin, but still names the attacker's host in ``Host``.
- ``BodyLimit``: a request body is counted while it is read, chunked or not, and refused with
  413 once it passes the limit; the app never sees more than that. A body still arriving after
  ``seconds`` (a byte every few seconds, which would hold a connection open for good) is
  refused with 408 and its connection closed.
- ``OriginGuard``: a browser request from another origin is refused (403) unless
  ``ASKDEF_CORS_ORIGINS`` lists that origin; only then does CORS (Starlette's middleware,
  which Gradio defers to) let the page read the reply.
- ``LoginGate``: with a login set, every route but ``PUBLIC`` needs it (HTTP basic, or the
  chat's login cookie), and failed logins back off per client. Attempts are counted as they
  are let through, so a burst sent at once is mostly refused unchecked: it cannot stretch the
  wait that the right password then meets.
- ``NoUploads``: Gradio's upload routes answer 404: the chat has no upload component, and
  Gradio would keep every file sent there in its temporary folder.
- ``PageHeaders``: HTML pages get a Content-Security-Policy that forbids external images,
  frames and scripts, so even markup that slipped past ``askdef.safe_output`` loads nothing.

Refusals are askdef's JSON error shape, ``{"error": message, "type": name}``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import math
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[Message], Any]
ASGIApp = Callable[[Scope, Receive, Send], Any]

# Reachable without the login: the health check, and what the login page itself loads.
PUBLIC = frozenset(
    {"/api/health", "/", "/login", "/login/", "/logout", "/theme.css", "/favicon.ico"}
)
PUBLIC_PREFIXES = ("/assets/", "/static/", "/svelte/")
# Gradio's page runs inline scripts and its HTML component evaluates strings: 'self' plus
# inline and eval is what it needs; nothing from another host loads, runs or frames.
CHAT_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; media-src 'self' blob:; font-src 'self' data:; "
    "connect-src 'self'; worker-src 'self' blob:; frame-src 'none'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


async def _refuse(
    send: Send, status: int, message: str, kind: str, headers: Iterable[tuple[str, str]] = ()
) -> None:
    body = json.dumps({"error": message, "type": kind}).encode()
    head = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((k.encode(), v.encode()) for k, v in headers),
    ]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


LOCAL_NAMES = frozenset({"localhost"})


def host_name(host: str) -> str:
    """The name or address in a ``Host`` header, without its port, brackets or final dot."""
    host = host.strip().lower()
    if host.startswith("["):  # [::1]:7860
        return host[1 : host.find("]")] if "]" in host else host
    name, _, port = host.rpartition(":")
    return (name if name and port.isdigit() else host).rstrip(".")


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class HostGuard:
    """Answer only requests whose ``Host`` is an IP address, ``localhost`` or one of
    ``allowed`` (names, any port; ``*`` turns the check off, for a proxy that checks it).

    DNS rebinding needs a name: an attacker's page re-points its own name at this server, and
    every request from it carries that name. An address in ``Host`` cannot come from such a
    page, so any address is accepted (the bound one, or the machine's address on a network).
    A request without ``Host`` (HTTP/1.0, not a browser) passes.
    """

    def __init__(self, app: ASGIApp, allowed: Iterable[str]) -> None:
        self.app = app
        self.allowed = {host_name(h) for h in allowed} | LOCAL_NAMES
        self.anyone = "*" in self.allowed

    def accepts(self, host: str) -> bool:
        name = host_name(host)
        return self.anyone or name in self.allowed or _is_address(name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        host = _header(scope, b"host") if scope["type"] in ("http", "websocket") else None
        if host is None or self.accepts(host):
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":
            return await send({"type": "websocket.close", "code": 1008})
        return await _refuse(
            send,
            421,
            f"This askdef server does not answer to the host name {host_name(host)!r}: reach it "
            "by its address or localhost, or add the name to ASKDEF_ALLOWED_HOSTS.",
            "Forbidden",
        )


class BodyLimit:
    """Read the whole body first, at most ``limit`` bytes within ``seconds``, then hand it to
    the app."""

    def __init__(self, app: ASGIApp, limit: int, seconds: float = 30.0) -> None:
        self.app, self.limit, self.seconds = app, limit, seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        too_big = f"The request body is over {self.limit:,} bytes (ASKDEF_MAX_BODY_BYTES)."
        declared = _header(scope, b"content-length") or ""
        if declared.isdigit() and int(declared) > self.limit:
            return await _refuse(send, 413, too_big, "InputError")
        chunks, size = [], 0
        deadline = time.monotonic() + self.seconds
        while True:
            try:
                message = await asyncio.wait_for(receive(), deadline - time.monotonic())
            except TimeoutError:
                return await _refuse(
                    send,
                    408,
                    f"The request body did not arrive within {self.seconds:g} s "
                    "(ASKDEF_BODY_TIMEOUT).",
                    "InputError",
                    [("connection", "close")],  # the server closes it: nothing more is read
                )
            if message["type"] != "http.request":  # the client went away
                return None
            size += len(message.get("body", b""))
            if size > self.limit:
                return await _refuse(send, 413, too_big, "InputError")
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # from now on only the disconnect is left to hear
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        return await self.app(scope, replay, send)


def same_origin(origin: str, scope: Scope) -> bool:
    """Whether ``origin`` names the host the request was sent to (or a proxy forwarded)."""
    netloc = urlsplit(origin).netloc.lower()
    hosts = {_header(scope, b"host"), _header(scope, b"x-forwarded-host")}
    return bool(netloc) and netloc in {h.lower() for h in hosts if h}


class OriginGuard:
    """Refuse requests a page on another origin sends, unless that origin is ``allowed``."""

    def __init__(self, app: ASGIApp, allowed: Iterable[str]) -> None:
        self.app = app
        self.allowed = {o.rstrip("/").lower() for o in allowed}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        origin = _header(scope, b"origin") if scope["type"] in ("http", "websocket") else None
        if origin and origin.lower() not in self.allowed and not same_origin(origin, scope):
            if scope["type"] == "websocket":
                return await send({"type": "websocket.close", "code": 1008})
            return await _refuse(
                send,
                403,
                f"Requests from {origin} are not allowed: add it to ASKDEF_CORS_ORIGINS.",
                "Forbidden",
            )
        return await self.app(scope, receive, send)


@dataclass
class _Failures:
    count: int = 0
    last: float = 0.0


@dataclass
class Backoff:
    """Failed logins per client: after ``free`` failures each next try waits twice as long
    as the last (1 s, 2 s, 4 s … up to ``longest``); a success forgets them."""

    free: int = 3
    longest: float = 300.0
    clients: dict[str, _Failures] = field(default_factory=dict)
    clock: Callable[[], float] = time.monotonic

    def wait(self, client: str) -> float:
        """Seconds ``client`` must wait before its next login attempt (0: try now)."""
        failures = self.clients.get(client)
        if failures is None or failures.count < self.free:
            return 0.0
        delay = min(self.longest, 2.0 ** (failures.count - self.free))
        return max(0.0, failures.last + delay - self.clock())

    def failed(self, client: str) -> None:
        failures = self.clients.setdefault(client, _Failures())
        failures.count += 1
        failures.last = self.clock()
        if len(self.clients) > 10_000:  # bounded memory under a spray of addresses
            self.clients.pop(next(iter(self.clients)))

    def succeeded(self, client: str) -> None:
        self.clients.pop(client, None)


class LoginGate:
    """With a login set, only ``PUBLIC`` routes answer without it; login attempts back off.

    ``signed_in(scope)`` is ``None`` without credentials, else whether they are right.
    """

    def __init__(
        self, app: ASGIApp, signed_in: Callable[[Scope], bool | None], backoff: Backoff
    ) -> None:
        self.app, self.signed_in, self.backoff = app, signed_in, backoff

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        client = (scope.get("client") or ("?", 0))[0]
        login_form = path.rstrip("/") == "/login" and scope.get("method") == "POST"
        verdict = None if login_form else self.signed_in(scope)
        if login_form or verdict is False:
            wait = self.backoff.wait(client)
            if wait:
                return await _refuse(
                    send,
                    429,
                    f"Too many failed logins from this address: try again in {math.ceil(wait)} s.",
                    "Auth",
                    [("retry-after", str(math.ceil(wait)))],
                )
        if verdict:
            self.backoff.succeeded(client)
            return await self.app(scope, receive, send)
        if verdict is False:
            self.backoff.failed(client)
        elif login_form:
            # charged before the form is checked, so that attempts sent at once see each other
            # (30 in parallel would all be checked, then all counted: a 5-minute lockout for
            # the right password too); a success forgets it
            self.backoff.failed(client)
            return await self.app(scope, receive, self._watch_login(send, client))
        if path in PUBLIC or path.startswith(PUBLIC_PREFIXES):
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":
            return await send({"type": "websocket.close", "code": 1008})
        return await _refuse(
            send,
            401,
            "Sign in: this askdef server requires a user and password.",
            "Auth",
            [("www-authenticate", 'Basic realm="askdef"')],
        )

    def _watch_login(self, send: Send, client: str) -> Send:
        """``send``, forgetting ``client``'s failures when the chat's login form succeeds."""

        async def watched(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 300:
                self.backoff.succeeded(client)
            await send(message)

        return watched


# Gradio's file upload and its progress (and the unprefixed route of older Gradio versions)
UPLOAD_ROUTES = frozenset({"/gradio_api/upload", "/gradio_api/upload_progress", "/upload"})


class NoUploads:
    """Refuse Gradio's upload routes (404) before their body is read."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = re.sub("/+", "/", scope.get("path", "")).rstrip("/")
        if scope["type"] == "http" and path in UPLOAD_ROUTES:
            return await _refuse(send, 404, "This askdef server takes no file uploads.", "NotFound")
        return await self.app(scope, receive, send)


class PageHeaders:
    """HTML replies without a policy of their own get ``CHAT_CSP`` and ``nosniff``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {bytes(k).lower() for k, _ in headers}
                kind = next(
                    (bytes(v) for k, v in headers if bytes(k).lower() == b"content-type"), b""
                )
                if kind.startswith(b"text/html") and b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", CHAT_CSP.encode()))
                if b"x-content-type-options" not in names:
                    headers.append((b"x-content-type-options", b"nosniff"))
                message = {**message, "headers": headers}
            await send(message)

        return await self.app(scope, receive, with_headers)
