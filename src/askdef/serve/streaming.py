"""Answers streamed off the request thread: a gate on how many at once, a worker that
reports silence, and server-sent events for HTTP clients.

The chat and the HTTP API both read ``bot.stream`` through a worker thread (``ticking``), so a
slow model never blocks a request thread and a client that leaves stops the model at its next
token. The HTTP API waits on the event loop, never in a thread of the shared pool that its other
routes run in: a question queued for an answer slot (``Gate.enter``) and a stream waiting for
the model's next event (``ticking_async``) hold no thread, so ``/api/health`` and
``/api/search`` answer at once however many answers are queued.
"""

from __future__ import annotations

import asyncio
import json
import queue
import threading
import weakref
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Future
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
    """At most ``limit`` answers at once and ``waiting`` more queued; others get a 503.

    A slot is awaited on the event loop (no thread waits), and given back by whichever thread
    the answer ends on: the first in the queue gets it.
    """

    def __init__(self, limit: int, waiting: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()  # enter runs on event loops, leave on worker threads
        self._free = limit
        self._queue: deque[Future[None]] = deque()
        self._max_waiting = waiting

    async def enter(self, timeout: float) -> None:
        """Take a slot, waiting up to ``timeout`` s; ``ServerBusyError`` if the queue is full
        or none frees up in time."""
        with self._lock:
            if self._free and not self._queue:
                self._free -= 1
                return
            if len(self._queue) >= self._max_waiting:
                raise ServerBusyError(_BUSY)
            turn: Future[None] = Future()  # a thread-safe future: leave() may run anywhere
            self._queue.append(turn)
        try:
            await asyncio.wait_for(asyncio.wrap_future(turn), timeout)
        except BaseException as exc:  # timed out, or the request was cancelled
            with self._lock:
                granted = turn.done() and not turn.cancelled()
                if not granted:
                    turn.cancel()  # leave() passes a cancelled turn over
                    if turn in self._queue:  # (unless it already did)
                        self._queue.remove(turn)
            if granted and isinstance(exc, TimeoutError):
                return  # the slot came as the time ran out: use it
            if granted:
                self.leave()  # cancelled with the slot in hand: pass it on
            if isinstance(exc, TimeoutError):
                raise ServerBusyError(_BUSY) from None
            raise

    def leave(self) -> None:
        """Give the slot back: to the first question still queued, if any."""
        with self._lock:
            while self._queue:
                turn = self._queue.popleft()
                if turn.set_running_or_notify_cancel():
                    turn.set_result(None)
                    return
            self._free += 1


def _start_worker(
    start: Callable[[], Iterator[StreamEvent]],
    put: Callable[[tuple[str, Any]], None],
    stop: threading.Event,
    on_done: Callable[[], None] | None,
) -> None:
    """Run ``start()``'s events on a new thread, handing each to ``put`` as ``("event", e)``,
    then ``("error", exc)`` if it failed and ``("done", None)``; ``stop`` ends it early."""

    def work() -> None:
        try:
            stream = start()
            try:
                for event in stream:
                    put(("event", event))
                    if stop.is_set():
                        break
            finally:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()
        except BaseException as exc:  # handed to the consumer, not lost in the thread
            put(("error", exc))
        finally:
            put(("done", None))
            if on_done is not None:
                on_done()

    threading.Thread(target=work, name="askdef-answer", daemon=True).start()


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
    _start_worker(start, events.put, stop, on_done)
    reader = _read(events, stop, tick)
    weakref.finalize(reader, stop.set)  # a reader dropped before its first step stops it too
    return reader


def ticking_async(
    start: Callable[[], Iterator[StreamEvent]],
    *,
    tick: float = TICK,
    on_done: Callable[[], None] | None = None,
) -> AsyncIterator[StreamEvent | None]:
    """``ticking`` for a coroutine (call it on the event loop): the events are awaited, so a
    stream waiting for its model holds no thread."""
    loop = asyncio.get_running_loop()
    events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    stop = threading.Event()

    def put(item: tuple[str, Any]) -> None:
        try:
            loop.call_soon_threadsafe(events.put_nowait, item)
        except RuntimeError:  # the loop is closed: nobody will read
            stop.set()

    _start_worker(start, put, stop, on_done)
    reader = _read_async(events, stop, tick)
    weakref.finalize(reader, stop.set)
    return reader


_SILENCE = ("silence", None)  # what a reader takes when no item came within a tick
_DONE = object()  # what _unpack gives for the worker's last item


def _unpack(item: tuple[str, Any]) -> Any:
    """The event a reader yields for the worker's ``item`` (``None`` for silence), ``_DONE``
    once the worker finished; the worker's error is raised here, in the reader."""
    kind, payload = item
    if kind == "error":
        raise payload
    return _DONE if kind == "done" else payload


def _read(
    events: queue.SimpleQueue[tuple[str, Any]], stop: threading.Event, tick: float
) -> Iterator[StreamEvent | None]:
    try:
        while (event := _unpack(_take(events, tick))) is not _DONE:
            yield event
    finally:
        stop.set()


def _take(events: queue.SimpleQueue[tuple[str, Any]], tick: float) -> tuple[str, Any]:
    try:
        return events.get(timeout=tick)
    except queue.Empty:
        return _SILENCE


async def _read_async(
    events: asyncio.Queue[tuple[str, Any]], stop: threading.Event, tick: float
) -> AsyncIterator[StreamEvent | None]:
    try:
        while (event := _unpack(await _take_async(events, tick))) is not _DONE:
            yield event
    finally:
        stop.set()


async def _take_async(events: asyncio.Queue[tuple[str, Any]], tick: float) -> tuple[str, Any]:
    try:
        return await asyncio.wait_for(events.get(), tick)
    except TimeoutError:
        return _SILENCE


async def final_answer(events: AsyncIterator[StreamEvent | None]) -> Answer:
    """The verified Answer at the end of a stream, the events before it passed over."""
    async for event in events:
        if isinstance(event, Answer):
            return event
    raise RuntimeError("the answer stream ended without an answer")


# --------------------------------------------------------------------------- server-sent events


def sse(event: str | None, data: Any) -> bytes:
    """One server-sent event: an optional ``event:`` name and ``data:`` as JSON."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def event_payload(event: StreamEvent) -> tuple[str, dict[str, Any]]:
    """The SSE event name and JSON data for one stream event."""
    return _EVENT_NAMES.get(type(event), "answer"), event.model_dump(mode="json")


async def sse_events(events: AsyncIterator[StreamEvent | None]) -> AsyncIterator[bytes]:
    """Every event as SSE, a keep-alive comment for each silence, ``error`` on failure.

    Deltas are escaped on the way (``StreamEscaper``): a client that renders them as Markdown
    builds no HTML, image or link from them.
    """
    escaper = StreamEscaper()
    try:
        async for event in events:
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
