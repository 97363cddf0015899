"""askdef in OpenAI's shapes, for chat clients that speak ``/v1/chat/completions``.

The last user message is the question and the earlier turns its history; the reply is the
verified answer with a ``Sources:`` list of the cited paragraphs appended (stripped again from
the history a client sends back). The quotes are in the extra ``citations`` field as plain
text, never in the content: a chat client renders the content as Markdown.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict

from askdef.errors import AskdefError, EmptyQuestionError
from askdef.safe_output import plain
from askdef.serve.render import by_marker
from askdef.serve.streaming import KEEPALIVE_COMMENT, sse
from askdef.types import Answer, Delta, Fallback, StreamEvent

SOURCES = "\n\nSources:\n"
WITHDRAWN = "\n\n(The text above is withdrawn; the checked answer follows.)\n\n"
MODELS = {
    "object": "list",
    "data": [{"id": "askdef", "object": "model", "created": 0, "owned_by": "askdef"}],
}


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


def question_and_history(messages: list[ChatMessage]) -> tuple[str, list[dict[str, str]]]:
    """The last user message, and the user/assistant turns before it without their Sources."""
    turns = [(m.role, m.text()) for m in messages if m.role in ("user", "assistant")]
    if not turns or turns[-1][0] != "user":
        raise EmptyQuestionError("The last message must be the user's question.")
    history = [{"role": role, "content": text.split(SOURCES, 1)[0]} for role, text in turns[:-1]]
    return turns[-1][1], history


def with_sources(answer: Answer) -> str:
    """The answer text followed by a ``Sources:`` list (``[1] doc.txt ¶4``), for chat clients."""
    if not answer.citations:
        return answer.text
    groups = by_marker(answer.citations)
    lines = [f"[{n}] {plain(groups[n][0].ref)}" for n in sorted(groups)]
    return answer.text + SOURCES + "\n".join(lines)


def error_body(exc: AskdefError) -> dict[str, Any]:
    """An askdef error as OpenAI's error object."""
    message = plain(str(exc))  # it may quote an LLM server's error body
    return {"error": {"message": message, "type": type(exc).__name__, "code": None, "param": None}}


class Completion:
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
        """The non-streaming reply."""
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

    async def chunks(self, events: AsyncIterator[StreamEvent | None]) -> AsyncIterator[bytes]:
        """The streaming reply: each sentence once its citations check out (``Delta``), the
        rest of the answer and its Sources at the end, then [DONE]. A client cannot take
        back streamed text: when what streamed is void (a ``Fallback``, or an answer refused
        after its first sentences showed), a ``WITHDRAWN`` line says so before what follows."""
        yield sse(None, self._chunk({"role": "assistant", "content": ""}))
        streamed = ""  # the answer's text streamed since the last withdrawal
        try:
            async for event in events:
                if event is None:
                    yield KEEPALIVE_COMMENT
                elif isinstance(event, Delta):
                    streamed += event.text
                    yield sse(None, self._chunk({"content": event.text}))
                elif isinstance(event, Fallback) and streamed:
                    streamed = ""
                    yield sse(None, self._chunk({"content": WITHDRAWN}))
                elif isinstance(event, Answer):
                    whole = with_sources(event)  # starts with what streamed, unless replacing it
                    rest = WITHDRAWN + whole if event.replaces_stream else whole[len(streamed) :]
                    for piece in _pieces(rest):
                        yield sse(None, self._chunk({"content": piece}))
                    yield sse(None, {**self._chunk({}, "stop"), **self._extra(event)})
        except AskdefError as exc:
            yield sse(None, error_body(exc))
        except Exception as exc:
            failed = plain(f"askdef failed: {exc}")
            yield sse(None, {"error": {"message": failed, "type": "Internal"}})
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
