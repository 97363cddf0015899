"""Generators: one interface, chosen by settings (``openai``, ``local``, ``extractive``)."""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from askdef.embedding import Embedder
from askdef.errors import GenerationError, ModelError
from askdef.extractive import ExtractiveGenerator
from askdef.prompts import answer_messages, condense_messages
from askdef.settings import Settings
from askdef.types import Passage


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
    ) -> Iterator[str]: ...


class ChatGenerator:
    """A generator backed by a chat model, with a per-answer deadline."""

    def __init__(self, name: str, chat: Chat, settings: Settings) -> None:
        self.name = name
        self.model = chat.model
        self._chat = chat
        self._settings = settings

    def answer(self, question: str, passages: list[Passage]) -> Iterator[str]:
        messages = answer_messages(question, passages, self._settings.answer_sentences)
        yield from self._bounded(messages, self._settings.max_answer_tokens)

    def condense(self, question: str, history: list[dict[str, str]]) -> str:
        text = "".join(self._bounded(condense_messages(question, history), 64)).strip()
        return text.splitlines()[0].strip() if text else question

    def _bounded(self, messages: list[dict[str, str]], max_tokens: int) -> Iterator[str]:
        deadline = time.monotonic() + self._settings.answer_deadline
        for delta in self._chat.stream_chat(messages, max_tokens=max_tokens):
            if time.monotonic() > deadline:
                raise GenerationError(
                    f"The {self.name} model took longer than {self._settings.answer_deadline:g} s "
                    "(ASKDEF_ANSWER_DEADLINE)."
                )
            yield delta


def openai_configured() -> bool:
    """Whether the environment names an OpenAI-compatible endpoint or key."""
    return bool(os.environ.get("OPENAI_BASE_URL") or os.environ.get("OPENAI_API_KEY"))


def make_generator(settings: Settings, embedder: Embedder) -> Generator:
    """The generator ``settings.generator`` names; ``auto`` picks openai, local, extractive."""
    choice = settings.generator
    if choice == "auto":
        from askdef import local_llm

        if openai_configured():
            choice = "openai"
        elif settings.local_model or local_llm.runtime_available():
            choice = "local"
        else:
            choice = "extractive"
    if choice == "openai":
        from askdef.openai_chat import OpenAIChat

        chat: Chat = OpenAIChat(
            base_url=os.environ.get("OPENAI_BASE_URL"),
            api_key=os.environ.get("OPENAI_API_KEY"),
            model=settings.model,
            timeout=settings.llm_timeout,
            retries=settings.llm_retries,
        )
        return ChatGenerator("openai", chat, settings)
    if choice == "local":
        return ChatGenerator("local", _local_chat(settings), settings)
    return ExtractiveGenerator(embedder, passages=settings.context_passages)


def _local_chat(settings: Settings) -> Chat:
    from askdef import local_llm

    if not settings.local_model:
        return _loaded_local(local_llm.packaged_model_path(), settings.local_threads)
    path = Path(settings.local_model).expanduser()
    if not path.is_file():
        raise ModelError(
            f"ASKDEF_LOCAL_MODEL={settings.local_model} is not a file; point it at a .gguf model."
        )
    return _loaded_local(path, settings.local_threads)


@functools.cache
def _loaded_local(path: Path, threads: int | None) -> Chat:
    """One loaded llama.cpp model per file and process: loading takes seconds and a GB."""
    from askdef.local_llm import LocalChat

    return LocalChat(path, threads=threads)
