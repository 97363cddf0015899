"""An in-process local chat model on xllamacpp (llama.cpp): by default the packaged
Qwen2.5-Coder-1.5B-Instruct GGUF, whose weights ``askdef.answer.packaged_weights`` assembles.

:class:`LocalChat` loads one GGUF with ``xllamacpp.Server`` and streams chat answers from it.
``xllamacpp`` is imported lazily, so ``import askdef`` stays fast without it.
"""

from __future__ import annotations

import queue
import secrets
import threading
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from askdef.answer.packaged_weights import weights_available
from askdef.answer.yes_no import YES_NO_ALTERNATIVES, yes_share
from askdef.errors import GenerationError, ModelError

if TYPE_CHECKING:
    import xllamacpp

# Kinds of prompt whose fixed start (the system prompt) stays read in a slot of its own: the
# answer, the entailment judge and the follow-up condenser. With one slot every judge turn
# evicted the answer's prompt, and each answer read its ~105-token system prompt again. A
# slot's context costs ~115 MB of RAM for the 1.5B model at 4,096 tokens, so the LLM's answer
# judge (asked only with ASKDEF_JUDGE=local or openai: askdef's trained judge decides
# answerability otherwise) shares the first slot rather than costing a fourth.
SLOTS = 3
_LOG_ERRORS_ONLY = 1  # llama.cpp's log verbosity: 1 prints errors (why a load failed) only


def runtime_available(cache_dir: Path | None = None) -> bool:
    """Whether the local model can run here: ``xllamacpp`` imports, and the parts are installed
    or the model is already assembled. Cheap: nothing is hashed or loaded."""
    try:
        import xllamacpp  # noqa: F401
    except Exception:  # a broken native build raises OSError or others, not only ImportError
        return False
    return weights_available(cache_dir)


def _error_text(chunk: dict[str, Any]) -> str | None:
    """The message of an error result from xllamacpp, or None for an ordinary chunk.

    Errors reach the stream callback as llama.cpp's HTTP error body,
    ``{"error": {"code", "message", "type", ...}}``; xllamacpp's own fallback for a reply it
    cannot parse is a bare ``{"code", "message", "type"}`` (seen without streaming only).
    """
    if "error" in chunk:
        error = chunk["error"]
        if isinstance(error, dict):
            return str(error.get("message") or error)
        return str(error)
    if "choices" not in chunk and "message" in chunk and "code" in chunk:
        return str(chunk["message"])
    return None


class LocalChat:
    """One loaded GGUF model, reused across calls; thread-safe (one generation at a time, a lock).

    xllamacpp runs llama.cpp's server in-process; it also listens for HTTP on a random port of
    127.0.0.1, which askdef does not use: it gets a random API key that nobody knows and no web
    UI, so other local programs and web pages cannot drive the model through it.
    """

    def __init__(
        self,
        model_path: Path,
        *,
        n_ctx: int = 4096,
        threads: int | None = None,
        slots: int = SLOTS,
    ) -> None:
        """Load ``model_path`` (a GGUF file) with a context of ``n_ctx`` tokens for each of
        ``slots`` kinds of prompt (see :data:`SLOTS`) on ``threads`` CPU threads (default:
        llama.cpp's choice, the physical cores). :class:`ModelError` if it cannot be loaded."""
        path = Path(model_path)
        if n_ctx < 1:
            raise ValueError(f"n_ctx must be positive, got {n_ctx}")
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be positive, got {threads}")
        if slots < 1:
            raise ValueError(f"slots must be positive, got {slots}")
        if not path.is_file():
            raise ModelError(f"No language model file at {path}.")
        try:
            import xllamacpp
        except Exception as exc:
            raise ModelError(
                f"Cannot load {path.name}: the xllamacpp runtime is not installed or does not "
                f"import ({exc}); install it with `pip install xllamacpp`."
            ) from exc
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.n_ctx = n_ctx * slots
        params.n_parallel = slots
        params.kv_unified = False  # each slot keeps its own n_ctx tokens and its own prefix
        params.fit_params = False  # fitting to free memory loads the model twice: 2.5 s more
        # Repacking the weights for this CPU's matrix kernels keeps a second copy of them:
        # 610 MB more memory (2.28 -> 1.67 GB loaded) and 2-4 s more to load, for no speed we
        # could measure (879-token prompt + 64 tokens, 2 threads: 25-39 s with, 24-34 s without).
        params.no_extra_bufts = True
        params.verbosity = _LOG_ERRORS_ONLY
        params.api_keys = [secrets.token_urlsafe(32)]
        params.ui = False
        # Answers copy their sources: drafting the next tokens from an n-gram already in the
        # prompt (llama.cpp's ngram-simple speculation) answered 13% faster (14 bundled
        # questions, interleaved with and without it; the outputs matched for 11).
        ngram = xllamacpp.common_speculative_type.COMMON_SPECULATIVE_TYPE_NGRAM_SIMPLE
        params.speculative.types = [ngram]
        params.speculative.ngram_simple.size_n = 4  # tokens that must match to draft
        params.speculative.ngram_simple.size_m = 16  # tokens drafted
        if threads is not None:
            params.cpuparams.n_threads = threads
            params.cpuparams_batch.n_threads = threads
        try:
            server = xllamacpp.Server(params)
        except Exception as exc:  # xllamacpp says only "Failed to init server ..."
            raise ModelError(
                f"Could not load the language model {path}: {exc} Is it a complete GGUF file "
                "that this llama.cpp build supports? (llama.cpp's log above says more.)"
            ) from exc
        self._server: xllamacpp.Server = server
        self._lock = threading.Lock()
        self.path = path
        self.model: str = path.name
        self.n_ctx = n_ctx
        self._slots = slots
        self._slot_of: dict[str, int] = {}  # a system prompt -> the slot that keeps it
        self._slots_lock = threading.Lock()
        self.cached_tokens: int | None = None  # of the last prompt, found already read

    def stream_chat(
        self,
        messages: list[dict[str, str]],
        *,
        max_tokens: int = 512,
        temperature: float = 0.0,
    ) -> Generator[str, None, None]:
        """Yield the answer to ``messages`` (OpenAI-style ``role``/``content`` dicts) as text
        pieces while it is written.

        Raises :class:`GenerationError` on an error from the runtime, when the answer is cut
        off at ``max_tokens``, or when the stream ends without a normal stop; the pieces before
        it have been yielded. Generations run one at a time: a second caller waits. Closing the
        iterator early stops the generation at its next token.
        """
        if max_tokens < 1:
            raise ValueError(f"max_tokens must be positive, got {max_tokens}")
        if not messages:
            raise ValueError("messages is empty: give at least one message to answer")
        request: dict[str, Any] = {
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "stream": True,
            "id_slot": self._slot(messages),
        }
        return self._generate(request, max_tokens)

    def _note_cached(self, timings: Any) -> None:
        cached = timings.get("cache_n") if isinstance(timings, dict) else None
        self.cached_tokens = cached if isinstance(cached, int) else None

    def _slot(self, messages: list[dict[str, str]]) -> int:
        """The slot for a prompt: one per system prompt, in the order they are first seen,
        so a kind of prompt finds its fixed start already read (llama.cpp's prompt cache)."""
        system = messages[0]["content"] if messages[0].get("role") == "system" else ""
        with self._slots_lock:
            return self._slot_of.setdefault(system, len(self._slot_of) % self._slots)

    def _generate(self, request: dict[str, Any], max_tokens: int) -> Generator[str, None, None]:
        """Run one streamed request on a worker thread and yield its text pieces.

        ``handle_chat_completions`` blocks until the answer is done, calling its callback on
        the calling thread for each chunk; the worker feeds a queue that this generator reads.
        The worker, not this generator, releases the lock: the model is free only once the
        runtime has returned, even if the consumer stopped reading early.
        """
        events: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        cancel = threading.Event()

        def on_chunk(chunk: Any) -> bool:
            # Called on the worker thread for each chunk and error. An exception here would be
            # swallowed by xllamacpp (and stop the stream), so this only queues. True stops.
            events.put(("chunk", chunk))
            return cancel.is_set()

        def work() -> None:
            try:
                self._server.handle_chat_completions(request, on_chunk)
            except BaseException as exc:  # reported to the consumer, not lost in the thread
                events.put(("raised", exc))
            finally:
                events.put(("done", None))
                self._lock.release()

        self._lock.acquire()
        try:
            worker = threading.Thread(target=work, name="askdef-local-llm", daemon=True)
            worker.start()
        except BaseException:
            self._lock.release()
            raise
        try:
            yield from self._read_stream(events, max_tokens)
        finally:
            cancel.set()  # a no-op after a normal end; otherwise stops at the next token
            # A runtime thread still inside llama.cpp when Python exits aborts the process.
            worker.join()

    def _read_stream(
        self, events: queue.SimpleQueue[tuple[str, Any]], max_tokens: int
    ) -> Iterator[str]:
        finish: str | None = None
        written: int | None = None  # tokens the runtime says it wrote, from the last chunk
        while True:
            kind, payload = events.get()
            if kind == "done":
                break
            if kind == "raised":
                raise GenerationError(f"{self.model} failed: {payload}") from payload
            if not isinstance(payload, dict):
                raise GenerationError(f"{self.model} sent an unexpected chunk: {payload!r}")
            error = _error_text(payload)
            if error is not None:
                raise GenerationError(f"{self.model} failed: {error}")
            for choice in payload.get("choices") or ():
                text = (choice.get("delta") or {}).get("content")
                if text:
                    yield text
                finish = choice.get("finish_reason") or finish
            timings = payload.get("timings")
            if isinstance(timings, dict) and isinstance(timings.get("predicted_n"), int):
                written = timings["predicted_n"]
                self._note_cached(timings)
        if finish == "stop":
            return
        if finish == "length":
            if written is not None and written < max_tokens:
                raise GenerationError(
                    f"The answer was cut off at {written} tokens: the question and the answer "
                    f"filled the model's {self.n_ctx}-token context. Send less text."
                )
            raise GenerationError(
                f"The answer was cut off at {max_tokens} tokens (max_tokens); ask for a "
                "shorter answer or allow more tokens."
            )
        if finish is None:
            raise GenerationError(f"{self.model} stopped without finishing its answer.")
        raise GenerationError(f"{self.model} stopped its answer early: {finish!r}.")

    def yes_probability(self, messages: list[dict[str, str]]) -> float:
        """The probability that the reply to ``messages`` starts with "yes" rather than "no",
        from the model's next-token log-probabilities (one token, no sampling)."""
        request = {
            "messages": messages,
            "max_tokens": 1,
            "temperature": 0.0,
            "logprobs": True,
            "top_logprobs": YES_NO_ALTERNATIVES,
            "id_slot": self._slot(messages),
        }
        with self._lock:
            try:
                reply = self._server.handle_chat_completions(request)
            except Exception as exc:
                raise GenerationError(f"{self.model} failed: {exc}") from exc
        error = _error_text(reply) if isinstance(reply, dict) else repr(reply)
        if error is not None:
            raise GenerationError(f"{self.model} failed: {error}")
        self._note_cached(reply.get("timings"))
        try:
            first = reply["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
            ranked = [(str(t["token"]), float(t["logprob"])) for t in first]
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise GenerationError(f"{self.model} gave no token probabilities: {exc}") from exc
        return yes_share(ranked)

    def complete(
        self,
        messages: list[dict[str, str]],
        *,
        max_tokens: int = 512,
        temperature: float = 0.0,
    ) -> str:
        """The whole answer to ``messages``: the joined :meth:`stream_chat` pieces."""
        return "".join(self.stream_chat(messages, max_tokens=max_tokens, temperature=temperature))
