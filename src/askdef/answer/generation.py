"""Generators: one interface, chosen by settings (``openai``, ``local``, ``extractive``)."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import time
from collections.abc import Generator as Stream
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from askdef.answer.claims import LEADING_MARKERS, MARKERS
from askdef.answer.extractive import ExtractiveGenerator
from askdef.answer.prompts import answer_messages, condense_messages
from askdef.answer.relevance import Scorer, focus, score_sentences
from askdef.errors import GenerationError, ModelError
from askdef.settings import Settings
from askdef.text import sentence_spans
from askdef.types import Passage

if TYPE_CHECKING:
    from askdef.answer.entailment import Ask, Judge
    from askdef.answer.local_llm import LocalChat
    from askdef.answer.openai_chat import OpenAIChat
    from askdef.answer.trained_judge import TrainedJudge


class Generator(Protocol):
    """Writes an answer with ``[n]`` markers from numbered passages."""

    name: str
    model: str

    def answer(self, question: str, passages: list[Passage]) -> Iterator[str]:
        """Yield the answer's text as it is written; raise ``GenerationError`` on faults."""
        ...

    def condense(self, question: str, history: list[dict[str, str]]) -> str:
        """A standalone search query for a follow-up question."""
        ...


class Chat(Protocol):
    """A chat model: the OpenAI-compatible client or the in-process llama.cpp model."""

    model: str

    def stream_chat(
        self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float = 0.0
    ) -> Stream[str, None, None]: ...


class ChatGenerator:
    """A generator backed by a chat model: it reads the passages' best sentences, writes at
    most ``answer_sentences`` sentences and is stopped at a per-answer deadline."""

    def __init__(self, name: str, chat: Chat, settings: Settings, scorer: Scorer) -> None:
        self.name = name
        self.model = chat.model
        self._chat = chat
        self._settings = settings
        self._scorer = scorer

    def answer(self, question: str, passages: list[Passage]) -> Iterator[str]:
        scored = score_sentences(self._scorer, question, passages)
        focused = focus(passages, scored, self._settings.context_sentences)
        limit = self._settings.answer_sentences
        messages = answer_messages(question, focused, limit)
        with contextlib.closing(self._bounded(messages, self._settings.max_answer_tokens)) as raw:
            yield from first_sentences(raw, limit)

    def condense(self, question: str, history: list[dict[str, str]]) -> str:
        text = "".join(self._bounded(condense_messages(question, history), 64)).strip()
        return text.splitlines()[0].strip() if text else question

    def _bounded(self, messages: list[dict[str, str]], max_tokens: int) -> Stream[str, None, None]:
        deadline = time.monotonic() + self._settings.answer_deadline
        with contextlib.closing(self._chat.stream_chat(messages, max_tokens=max_tokens)) as s:
            for delta in s:
                if time.monotonic() > deadline:
                    raise GenerationError(
                        f"The {self.name} model took longer than "
                        f"{self._settings.answer_deadline:g} s (ASKDEF_ANSWER_DEADLINE)."
                    )
                yield delta


_OPEN_MARKER = re.compile(r"\[[\d,;\s]*$")


def first_sentences(deltas: Iterable[str], limit: int) -> Iterator[str]:
    """The streamed ``deltas`` up to the end of sentence ``limit`` and its markers; reading
    stops there, so a model that keeps writing is cut off instead of waited for.

    Linear in the stream: sentences already begun are not read again, and the text is read
    only when a stop was written near the end (a sentence can begin only after one), so a
    stream that never ends a sentence costs one look at each delta.
    """
    text, scan = "", _Scan()
    for delta in deltas:
        sent = len(text)
        text += delta
        recent = text[max(0, sent - _STOP_REACH) :]
        cut = scan.start_of_sentence(text, limit + 1) if _STOPS.search(recent) else None
        if cut is not None:
            yield text[sent:cut].rstrip() if cut > sent else ""
            return
        yield delta


_STOPS = re.compile(r"[.!?]")
_STOP_REACH = 32  # characters before a delta where a stop may still end a sentence in it


@dataclass
class _Scan:
    """How far a growing text has been read: ``seen`` sentences begin before ``settled``,
    where the last sentence read (which may still grow) begins."""

    settled: int = 0
    seen: int = 0

    def start_of_sentence(self, text: str, n: int) -> int | None:
        """Where the ``n``-th sentence of ``text`` begins, once it has begun (markers before
        it belong to the sentence they follow)."""
        tail, seen, last = text[self.settled :], self.seen, None
        for start, end in sentence_spans(tail):
            leading = LEADING_MARKERS.match(tail, start, end)
            body_start = leading.end() if leading else start
            body = _OPEN_MARKER.sub("", MARKERS.sub("", tail[body_start:end]))
            if not any(c.isalnum() for c in body):
                continue  # markers only, or one still being written: "[2"
            if seen + 1 == n:
                return self.settled + body_start
            last = (self.settled + start, seen)
            seen += 1
        if last is not None:
            self.settled, self.seen = last
        return None


def openai_configured() -> bool:
    """Whether the environment names an OpenAI-compatible endpoint or key."""
    return bool(os.environ.get("OPENAI_BASE_URL") or os.environ.get("OPENAI_API_KEY"))


def auto_llm(settings: Settings) -> Literal["openai", "local"] | None:
    """The LLM ``auto`` picks, for answers and for judging: ``openai`` when the environment
    names an endpoint or key, else ``local`` when its model can run, else None."""
    from askdef.answer import local_llm

    if openai_configured():
        return "openai"
    if settings.local_model or local_llm.runtime_available():
        return "local"
    return None


def make_generator(settings: Settings, scorer: Scorer) -> Generator:
    """The generator ``settings.generator`` names; ``auto`` picks openai, local, extractive."""
    choice = settings.generator
    if choice == "auto":
        choice = auto_llm(settings) or "extractive"
    if choice == "openai":
        return ChatGenerator("openai", _openai_chat(settings), settings, scorer)
    if choice == "local":
        return ChatGenerator("local", local_chat(settings), settings, scorer)
    return ExtractiveGenerator(scorer, passages=settings.context_passages)


def make_judge(
    settings: Settings, generator: str, *, choice: str | None = None, llm: str | None = None
) -> Judge | None:
    """The judge ``choice`` (default ``settings.judge``) names for ``generator``'s answers:
    ``trained`` is askdef's own model (``askdef.answer.trained_judge``), ``cascade`` that model
    with the sentences it cannot decide sent to an LLM (``CascadeJudge``), ``local`` and
    ``openai`` an LLM asked yes/no (``ChatJudge``), ``none`` none. ``auto``: the cascade for an
    LLM generator (its LLM is loaded anyway), the trained model alone for the extractive one
    (whose sentences are copies). ``llm`` is the cascade's LLM (``llm_judge``'s choice; default:
    the openai generator's own endpoint, else ``auto``): a benchmark whose writer is scripted
    names the real one. A model loads on its first call."""
    choice = choice or settings.judge
    if choice == "auto":
        choice = "trained" if generator == "extractive" else "cascade"
    if choice == "none":
        return None
    if choice == "trained":
        return _trained_judge()
    if choice == "cascade":
        from askdef.answer.trained_judge import CascadeJudge

        trained = _trained_judge()
        second = llm_judge(settings, llm or ("openai" if generator == "openai" else "auto"))
        return CascadeJudge(trained, second, trained.band) if second else trained
    return llm_judge(settings, choice)


def llm_judge(settings: Settings, choice: str, *, ask: Ask | None = None) -> Judge | None:
    """An LLM asked yes/no, worded by ``ask`` (default: the verifier's question): ``openai``,
    ``local``, or ``auto``: the openai endpoint when one is configured, else the local model
    when it can run, else None."""
    from askdef.answer.entailment import ChatJudge

    asked = {"ask": ask} if ask else {}
    if choice == "auto":
        choice = auto_llm(settings) or "none"
    if choice == "openai":
        return ChatJudge("openai", lambda: _openai_chat(settings), **asked)
    if choice == "local":
        return ChatJudge("local", lambda: local_chat(settings), **asked)
    return None


@functools.cache
def _trained_judge() -> TrainedJudge:
    """One trained judge per process: its session is shared by every thread."""
    from askdef.answer.trained_judge import TrainedJudge

    return TrainedJudge()


def _openai_chat(settings: Settings) -> OpenAIChat:
    from askdef.answer.openai_chat import OpenAIChat

    return OpenAIChat(
        base_url=os.environ.get("OPENAI_BASE_URL"),
        api_key=os.environ.get("OPENAI_API_KEY"),
        model=settings.model,
        timeout=settings.llm_timeout,
        retries=settings.llm_retries,
    )


def local_chat(settings: Settings) -> LocalChat:
    """The local model ``settings`` name (the packaged one by default), loaded once per
    process and file."""
    from askdef.answer.packaged_weights import packaged_model_path

    if not settings.local_model:
        return _loaded_local(packaged_model_path(), settings.local_threads)
    path = Path(settings.local_model).expanduser()
    if not path.is_file():
        raise ModelError(
            f"ASKDEF_LOCAL_MODEL={settings.local_model} is not a file; point it at a .gguf model."
        )
    return _loaded_local(path, settings.local_threads)


@functools.cache
def _loaded_local(path: Path, threads: int | None) -> LocalChat:
    """One loaded llama.cpp model per file and process: loading takes seconds and a GB."""
    from askdef.answer.local_llm import LocalChat

    return LocalChat(path, threads=threads)
