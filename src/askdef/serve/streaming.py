"""Answers streamed off the request thread: a gate on how many at once, a worker that
reports silence, and server-sent events for HTTP clients.

The chat and the HTTP API both read ``bot.stream`` through ``ticking``, so a slow model
never blocks a request thread and a client that leaves stops the model at its next token.
"""

from __future__ import annotations

import json
import queue
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from askdef.errors import AskdefError
from askdef.safe_output import StreamEscaper, plain
from askdef.types import Answer, Delta, Fallback, Retrieved, StreamEvent

TICK = 1.0  # seconds between progress updates while the model is silent
KEEPALIVE_COMMENT = b": keep-alive\n\n"
_BUSY = "askdef is busy answering other questions; retry shortly."
_EVENT_NAMES: dict[type, str] = {Retrieved: "retrieved", Delta: "delta", Fallback: "fallback"}


class ServerBusyError(AskdefError):
    """Every answer slot is taken and the queue is full (HTTP 503); retry shortly."""


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
                raise ServerBusyError(_BUSY)
            self._waiting += 1
        try:
            if not self._slots.acquire(timeout=timeout):
                raise ServerBusyError(_BUSY)
        finally:
            with self._lock:
                self._waiting -= 1

    def leave(self) -> None:
        """Give the slot back."""
        self._slots.release()


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


def final_answer(events: Iterable[StreamEvent | None]) -> Answer:
    """The verified Answer at the end of a stream, the events before it passed over."""
    return next(e for e in events if isinstance(e, Answer))


# --------------------------------------------------------------------------- server-sent events


def sse(event: str | None, data: Any) -> bytes:
    """One server-sent event: an optional ``event:`` name and ``data:`` as JSON."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def event_payload(event: StreamEvent) -> tuple[str, dict[str, Any]]:
    """The SSE event name and JSON data for one stream event."""
    return _EVENT_NAMES.get(type(event), "answer"), event.model_dump(mode="json")


def sse_events(events: Iterator[StreamEvent | None]) -> Iterator[bytes]:
    """Every event as SSE, a keep-alive comment for each silence, ``error`` on failure.

    Deltas are escaped on the way (``StreamEscaper``): a client that renders them as Markdown
    builds no HTML, image or link from them.
    """
    escaper = StreamEscaper()
    try:
        for event in events:
            if isinstance(event, Delta):
                event = Delta(text=escaper.feed(event.text))
            elif isinstance(event, Fallback | Answer):
                if held := escaper.flush():
                    yield sse("delta", {"text": held})
                escaper = StreamEscaper()  # the text after a fallback starts afresh
            yield KEEPALIVE_COMMENT if event is None else sse(*event_payload(event))
    except AskdefError as exc:
        yield sse("error", {"error": plain(str(exc)), "type": type(exc).__name__})
    except Exception as exc:
        yield sse("error", {"error": plain(f"askdef failed: {exc}"), "type": type(exc).__name__})
