"""The login of askdef's server: HTTP basic, or the chat's own login cookie.

One user and password (``ASKDEF_AUTH``) guard the whole server, so a browser signed in to
the chat can open the document pages and API without a second prompt. ``askdef.serve.http_guard``
asks ``signed_in`` about every request.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Callable
from typing import Any

from starlette.requests import HTTPConnection

Auth = tuple[str, str]


def signed_in(auth: Auth) -> Callable[[dict[str, Any]], bool | None]:
    """A check of one request's ASGI scope: True with the right basic credentials or a live
    chat login, False with wrong basic credentials, None with neither."""

    def check(scope: dict[str, Any]) -> bool | None:
        request = HTTPConnection(scope)
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(encoded).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                user, password = "", ""
            # both compared, always: the time taken says nothing about which part was wrong
            return secrets.compare_digest(user.encode(), auth[0].encode()) & secrets.compare_digest(
                password.encode(), auth[1].encode()
            )
        return True if _gradio_session(request) else None

    return check


def _gradio_session(request: HTTPConnection) -> bool:
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
