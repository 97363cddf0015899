"""What ingest and retrieval need from a store of index generations, whichever holds them.

``askdef.index.store.IndexDir`` keeps generations in folders (the default);
``askdef.index.chroma_server.ServerIndex`` keeps them in a Chroma server.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from askdef.errors import IndexMismatchError

if TYPE_CHECKING:
    import bm25s
    from llama_index.vector_stores.chroma import ChromaVectorStore

FORMAT = (
    4  # bump when paragraphs, chunks, sentences or BM25 tokens change: old indexes need --rebuild
)
REBUILD_HINT = "run `askdef index --rebuild`"  # built with other settings: start afresh
REPAIR_HINT = "run `askdef index` to repair it (it rebuilds the index from the corpus)"


@dataclass(frozen=True)
class Manifest:
    """What an index generation was built from; compared with the settings on open."""

    askdef_version: str
    embed_model: str
    dimension: int
    chunking: dict[str, Any]
    files: dict[str, str]  # doc_id -> sha256
    chunks: int
    format: int = FORMAT

    def check_matches(self, shape: dict[str, Any], dimension: int | None = None) -> None:
        """Raise ``IndexMismatchError`` naming each difference from the current settings."""
        built = {"format": self.format, "embed_model": self.embed_model, **self.chunking}
        wanted = {"format": FORMAT, **shape}
        if dimension is not None:
            built["dimension"], wanted["dimension"] = self.dimension, dimension
        diffs = [
            f"{k}: index has {built.get(k)!r}, settings want {v!r}"
            for k, v in wanted.items()
            if built.get(k) != v
        ]
        if diffs:
            raise IndexMismatchError(
                "The index was built with other settings (" + "; ".join(diffs) + "). "
                f"Rebuild it: {REBUILD_HINT}."
            )


G = TypeVar("G")  # how a backend names a generation: a folder, or a Chroma collection's suffix


class Backend(Protocol[G]):
    """A store of immutable index generations with one live pointer and one writer at a time."""

    def current(self) -> G | None:
        """The live generation, or None before the first ingest."""
        ...

    def require_current(self) -> G:
        """The live generation, or ``IndexMissingError`` saying how to build one."""
        ...

    def read_manifest(self, gen: G) -> Manifest: ...

    def read_docs(self, gen: G) -> dict[str, Any]: ...

    def read_chunks(self, gen: G) -> list[dict[str, Any]]: ...

    def damaged_files(self, gen: G) -> dict[str, str]:
        """Parts whose stored files differ from what was published (part -> what differs):
        checked before a library reads them, since a damaged vector index can crash Chroma."""
        ...

    def writer_lock(self) -> AbstractContextManager[None]:
        """Hold the single-writer lock, or raise ``IndexLockedError`` at once."""
        ...

    def new_generation(self, copy_of: G | None) -> G:
        """A fresh, unpublished generation whose vectors start as a copy of ``copy_of``'s."""
        ...

    def vector_store(self, gen: G, *, write: bool = False) -> ChromaVectorStore:
        """The generation's vectors; ``write`` only while an unpublished one is built."""
        ...

    def write_lexical(self, gen: G, chunks: list[dict[str, Any]]) -> None:
        """Store the generation's chunk list (and whatever BM25 needs to load later)."""
        ...

    def load_bm25(self, gen: G, chunks: list[dict[str, Any]]) -> bm25s.BM25: ...

    def publish(self, gen: G, manifest: Manifest, docs: dict[str, Any]) -> None:
        """Finish ``gen`` and make it the live generation in one atomic step."""
        ...

    def discard(self, gen: G) -> None:
        """Drop an unpublished generation (a failed build); best effort."""
        ...

    def disk_full_message(self, live: G | None) -> str:
        """What to tell the user when a build ran out of disk space (``live`` is unchanged)."""
        ...

    def remove_stale(self, keep: set[G]) -> None: ...

    def guard(self) -> AbstractContextManager[None]:
        """Wraps reads at query time, turning a lost connection into a ``StoreError``."""
        ...


def generation_name(gen: Any) -> str:
    """A generation's name, whichever backend holds it (a folder's name, or a suffix)."""
    return gen.name if isinstance(gen, Path) else str(gen)
