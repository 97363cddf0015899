"""Chat over any OpenAI-compatible server (OpenAI, vLLM, Ollama, llama.cpp, LM Studio).

The openai client retries 429/5xx and connection errors itself (``max_retries``); this module
sets explicit timeouts and turns what the client does not raise (an empty ``choices``, a body
that is not an OpenAI stream, a stream cut before its ``finish_reason``) into errors.

The errors name no address: their messages reach the chat and API clients, who have no business
knowing where the LLM server is. Each failure is logged with the server's address instead.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any, cast

from askdef.answer.yes_no import YES_NO_ALTERNATIVES, yes_share
from askdef.errors import GenerationError

if TYPE_CHECKING:
    from openai import Stream
    from openai.types.chat import ChatCompletionChunk

log = logging.getLogger("askdef.answer.openai_chat")


class OpenAIChat:
    """A chat model behind an OpenAI-compatible endpoint."""

    def __init__(
        self, *, base_url: str | None, api_key: str | None, model: str, timeout: float, retries: int
    ) -> None:
        import httpx
        import openai

        self.model = model
        self._where = base_url or "api.openai.com"
        self._client = openai.OpenAI(
            base_url=base_url,
            api_key=api_key or "not-needed",  # local servers ignore it; the client requires one
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            max_retries=retries,
        )

    def stream_chat(
        self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float = 0.0
    ) -> Generator[str, None, None]:
        """Yield text deltas; raise ``GenerationError`` on any fault, said plainly."""
        finish: str | None = None
        choices_seen = False
        with self._errors():
            stream = cast(
                "Stream[ChatCompletionChunk]",
                self._client.chat.completions.create(
                    model=self.model,
                    messages=messages,  # type: ignore[arg-type]
                    max_tokens=max_tokens,
                    temperature=temperature,
                    stream=True,
                ),
            )
            with stream:  # a consumer that stops reading closes the connection
                for chunk in stream:
                    if not getattr(chunk, "choices", None):
                        continue
                    choices_seen = True
                    choice = chunk.choices[0]
                    if choice.delta is not None and choice.delta.content:
                        yield choice.delta.content
                    finish = choice.finish_reason or finish
        if not choices_seen:
            raise self._failed("The LLM server returned no answer (no choices in its reply).")
        if finish is None:
            raise self._failed(
                "The LLM server stopped mid-answer (the stream ended without a finish reason)."
            )
        if finish == "length":
            raise self._failed(f"The answer was cut off at {max_tokens} tokens.")
        if finish != "stop":
            raise self._failed(f"The LLM server ended the answer with reason {finish!r}.")

    def yes_probability(self, messages: list[dict[str, str]]) -> float:
        """The probability that the reply to ``messages`` starts with "yes" rather than "no":
        from the first token's log-probabilities when the server gives them, else 1.0 or 0.0
        from the word it wrote; ``GenerationError`` when it wrote neither."""
        with self._errors():
            reply = self._client.chat.completions.create(
                model=self.model,
                messages=messages,  # type: ignore[arg-type]
                max_tokens=1,
                temperature=0.0,
                logprobs=True,
                top_logprobs=YES_NO_ALTERNATIVES,
            )
        choices = getattr(reply, "choices", None)
        if not choices:
            raise self._failed("The LLM server returned no answer (no choices in its reply).")
        choice = choices[0]
        first = choice.logprobs.content[0] if choice.logprobs and choice.logprobs.content else None
        if first is not None and first.top_logprobs:
            return yes_share((t.token, t.logprob) for t in first.top_logprobs)
        word = (choice.message.content or "").strip().casefold().rstrip(".")
        if word not in ("yes", "no"):
            raise self._failed(f"The LLM server answered a yes/no check with {_short(word)!r}.")
        return float(word == "yes")

    def _failed(self, message: str) -> GenerationError:
        """The error users see for ``message``; the server log says which server it was."""
        log.warning("askdef: the LLM server at %s: %s", self._where, message)
        return GenerationError(message)

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """Turn the openai client's exceptions into ``GenerationError``s said plainly."""
        import openai

        try:
            yield
        except openai.APITimeoutError as exc:
            raise self._failed("The LLM server timed out.") from exc
        except openai.APIConnectionError as exc:
            raise self._failed(f"Cannot reach the LLM server: {exc}") from exc
        except openai.APIStatusError as exc:
            raise self._failed(
                f"The LLM server answered HTTP {exc.status_code}: {_short(exc.message)}"
            ) from exc
        except (openai.OpenAIError, ValueError) as exc:  # bodies that are not OpenAI JSON/SSE
            raise self._failed(
                f"The LLM server sent a reply askdef cannot read: {_short(exc)}"
            ) from exc


def _short(value: Any, limit: int = 200) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[:limit] + "…"
