"""One chat turn as the screens the web chat shows: searching, sources, streamed text, answer.

Kept apart from Gradio (``askdef.serve.ui`` only wires it to the Blocks) so a turn can be run and
tested as plain Python.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from askdef.errors import AskdefError, InputError
from askdef.safe_output import plain
from askdef.serve.render import (
    answer_markdown,
    answered_by,
    sources_html,
    streaming_markdown,
    unindexed_note,
    welcome_html,
)
from askdef.serve.streaming import ticking
from askdef.types import Answer, Delta, Fallback, Retrieved

if TYPE_CHECKING:
    from askdef.api import AskDef

log = logging.getLogger("askdef.serve.web")

Messages = list[dict[str, str]]
SEARCHING = "Searching the documents…"
REDRAW = 0.1  # seconds between screens while the answer streams: a screen costs its whole text
QUOTED = 200  # characters of a question over the limit that the chat shows


@dataclass
class Turn:
    """What the UI shows after each step of one question."""

    chat: Messages
    sources: str
    status: str
    history: Messages


def _joined_parts(content: Any) -> str:
    """Gradio 6 gives message content as a list of parts; older values are strings."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part.get("text", "") if isinstance(part, dict) else str(part) for part in content
        )
    if isinstance(content, dict):
        return str(content.get("text", ""))
    return "" if content is None else str(content)


def plain_messages(chat: Sequence[Any] | None) -> Messages:
    """The Chatbot's messages as plain ``{"role", "content"}`` dicts."""
    return [
        {"role": str(m.get("role", "")), "content": _joined_parts(m.get("content"))}
        for m in chat or []
        if isinstance(m, dict)
    ]


def asked_message(question: str, limit: int) -> dict[str, str]:
    """The user's message as the chat shows it. A question over ``limit`` characters (it will
    be refused) shows as its first ``QUOTED`` characters and its length: the chat never echoes
    200 kB of pasted text, nor renders more than that part of it."""
    text = question.strip()
    if len(text) <= limit:
        return {"role": "user", "content": plain(text)}
    return {"role": "user", "content": f"{plain(text[:QUOTED])} … ({len(text):,} characters)"}


def submitted(bot: AskDef, question: str, chat: Sequence[Any] | None) -> tuple[str, Messages, str]:
    """The chat's instant reply to a typed question: ``(box, chat, pending)``, the question
    shown at once (``asked_message``) and left pending for ``answer_turn``."""
    question = (question or "").strip()
    if not question:
        return "", plain_messages(chat), ""
    asked = asked_message(question, bot.settings.max_question_chars)
    return "", [*plain_messages(chat), asked], question


def unindexed_count(bot: AskDef) -> int:
    """How many corpus files the index does not hold, for the status line; 0 when it cannot
    be told (no index yet: the status says so already)."""
    try:
        return len(bot.unindexed())
    except AskdefError:
        return 0


def answer_turn(
    bot: AskDef, question: str, chat: Sequence[Any] | None, history: Messages | None
) -> Iterator[Turn]:
    """One chat turn as a sequence of screens: searching, sources, streamed text, the answer.

    ``chat`` is what the Chatbot shows (the question already last), ``history`` the plain
    conversation given to ``bot.stream`` for follow-ups. Errors end the turn as a message.
    """
    shown = plain_messages(chat)
    if not shown or shown[-1]["role"] != "user":
        shown.append(asked_message(question, bot.settings.max_question_chars))
    past = list(history or [])
    started = time.monotonic()
    sources = welcome_html()
    status = SEARCHING
    text, passages, failed, drawn = "", 0, False, 0.0

    def screen(reply: str) -> Turn:
        return Turn([*shown, {"role": "assistant", "content": reply}], sources, status, past)

    yield screen(streaming_markdown("", waiting=SEARCHING))
    try:
        stream = bot.stream(question, past)  # refuses an empty or oversized question at once
        for event in ticking(lambda: stream):
            seconds = time.monotonic() - started
            if isinstance(event, Retrieved):
                passages = len(event.passages)
                sources = sources_html(None, event.passages)
            elif isinstance(event, Delta):
                text += event.text
                if time.monotonic() - drawn < REDRAW:
                    continue  # shown with the next screen (or the answer, which replaces it)
            elif isinstance(event, Fallback):
                text, failed = "", True
                status = f"⚠ {event.reason}"  # plain already
                yield screen(streaming_markdown("", waiting="Writing the answer…"))
                continue
            elif isinstance(event, Answer):
                sources = sources_html(event, event.passages)
                status = answered_by(event) + unindexed_note(unindexed_count(bot))
                past = [
                    *past,
                    {"role": "user", "content": question},
                    {"role": "assistant", "content": event.text},
                ]
                yield screen(answer_markdown(event))
                return
            if passages and not failed:
                status = f"Found {passages} passages · writing the answer… {seconds:.0f} s"
            elif not passages:
                status = f"{SEARCHING} {seconds:.0f} s"
            waiting = "Reading the sources…" if passages else SEARCHING
            drawn = time.monotonic()
            yield screen(streaming_markdown(text, waiting=f"{waiting} {seconds:.0f} s"))
    except AskdefError as exc:
        status = "⚠ " + ("Question refused" if isinstance(exc, InputError) else "Error")
        yield screen(plain(f"⚠️ {exc}"))
    except Exception as exc:  # never a traceback in the chat; the log has it
        log.exception("answering %r failed", question)
        status = "⚠ Error"
        problem = f"{type(exc).__name__}: {exc}"
        yield screen(plain(f"⚠️ Something went wrong inside askdef ({problem})."))
