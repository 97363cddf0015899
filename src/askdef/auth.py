"""The login guard of askdef's HTTP routes: HTTP basic, or the chat's own login cookie.

One user and password (``ASKDEF_AUTH``) guard the whole server, so a browser signed in to
the chat can open the document pages and API without a second prompt.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Callable

from fastapi import Request

Auth = tuple[str, str]


class UnauthorizedError(Exception):
    """The request carries neither valid basic credentials nor a live chat login (HTTP 401)."""


def basic_auth(auth: Auth | None) -> Callable[[Request], None]:
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
            # both compared, always: the time taken says nothing about which part was wrong
            if secrets.compare_digest(user.encode(), auth[0].encode()) & secrets.compare_digest(
                password.encode(), auth[1].encode()
            ):
                return
        elif _gradio_session(request):
            return
        raise UnauthorizedError()

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
