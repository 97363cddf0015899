"""A client for a running askdef server, with the in-process API's methods and types.

>>> from askdef import Client
>>> with Client("http://127.0.0.1:7860") as bot:       # doctest: +SKIP
...     answer = bot.ask("Which firms take part in Japan's F-X program?")
...     print(answer.text, answer.citations[0].ref)

Errors the server reports come back as the same ``AskdefError`` subclasses, with its message.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from askdef import errors
from askdef.types import Answer, Delta, Fallback, Passage, Retrieved, StreamEvent

if TYPE_CHECKING:
    import httpx

_EVENTS: dict[str, type[Retrieved] | type[Delta] | type[Fallback] | type[Answer]] = {
    "retrieved": Retrieved,
    "delta": Delta,
    "fallback": Fallback,
    "answer": Answer,
}


def _error_class(name: str) -> type[errors.AskdefError]:
    cls = getattr(errors, name, None)
    if isinstance(cls, type) and issubclass(cls, errors.AskdefError):
        return cls
    return errors.AskdefError


class Client:
    """``search``/``ask``/``stream`` against an askdef server (``askdef serve``, ``app.py``).

    ``auth`` is the (user, password) of a server started with ``ASKDEF_AUTH``. ``timeout`` is
    how long to wait for the server's next bytes: the server keeps streams alive while a slow
    model reads its sources, so it need not cover a whole answer.
    """

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:7860",
        *,
        auth: tuple[str, str] | None = None,
        timeout: float = 60.0,
        connect_timeout: float = 5.0,
    ) -> None:
        import httpx

        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url,
            auth=auth,
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            headers={"Accept": "application/json"},
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def health(self) -> dict[str, Any]:
        """The server's ``/api/health``: status, version, generator, model, index."""
        import httpx

        try:
            response = self._http.get("/api/health")
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from exc
        body: dict[str, Any] = response.json()
        return body

    def search(self, question: str, k: int = 5) -> list[Passage]:
        """The ``k`` paragraphs that best match ``question``, best first."""
        body = self._post("/api/search", {"question": question, "k": k})
        return [Passage.model_validate(p) for p in body["passages"]]

    def ask(self, question: str, history: list[dict[str, str]] | None = None) -> Answer:
        """Answer ``question`` (``history``: the conversation as role/content messages)."""
        for event in self.stream(question, history):
            if isinstance(event, Answer):
                return event
        raise errors.AskdefError(f"{self.base_url} ended the answer stream without an answer.")

    def stream(
        self, question: str, history: list[dict[str, str]] | None = None
    ) -> Iterator[StreamEvent]:
        """``Retrieved``, ``Delta``s (maybe a ``Fallback``), then the ``Answer``, as sent."""
        import httpx

        payload = {"question": question, "history": list(history or []), "stream": True}
        try:
            with self._http.stream(
                "POST", "/api/ask", json=payload, headers={"Accept": "text/event-stream"}
            ) as response:
                if response.status_code >= 400:
                    response.read()
                    raise self._failure(response)
                yield from _parse_sse(response.iter_lines())
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from exc

    def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        import httpx

        try:
            response = self._http.post(path, json=payload)
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from exc
        if response.status_code >= 400:
            raise self._failure(response)
        body: dict[str, Any] = response.json()
        return body

    def _failure(self, response: httpx.Response) -> errors.AskdefError:
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict) or not isinstance(body.get("error"), str):
            return errors.AskdefError(
                f"{self.base_url} answered HTTP {response.status_code}: {response.text[:200]}"
            )
        return _error_class(str(body.get("type", "")))(body["error"])

    def _unreachable(self, exc: Exception) -> errors.AskdefError:
        return errors.AskdefError(
            f"Cannot talk to the askdef server at {self.base_url} ({type(exc).__name__}: {exc}). "
            "Is it running (askdef serve), and is the address right?"
        )


def _parse_sse(lines: Iterator[str]) -> Iterator[StreamEvent]:
    """Stream events from server-sent-event lines; an ``error`` event raises."""
    name, data = "message", []
    for line in lines:
        if line.startswith(":"):
            continue
        if line:
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
            continue
        if data:
            body = json.loads("\n".join(data))
            if name == "error":
                raise _error_class(str(body.get("type", "")))(str(body.get("error", body)))
            kind = _EVENTS.get(name)
            if kind is not None:
                yield kind.model_validate(body)
        name, data = "message", []
