"""Opening an index generation with a check that its parts agree, cheap enough for every open.

A generation has five parts: the manifest, the documents, the chunk list, the dense vectors
(Chroma) and BM25. First each stored file is compared with the size and sha256 recorded when
the generation was published (a damaged HNSW file can crash Chroma's reader outright, so no
library is handed a file that changed). Then each part is read and compared with the
manifest: its chunk count against the chunk list's, BM25's and the vector store's, its files
against the documents, and one stored vector is looked up through the vector index (an
emptied database otherwise answers searches with nothing, and search would quietly fall back
to BM25 alone). Every damaged part is named in one ``IndexCorruptError``; a Chroma server that
cannot be reached is not damage and raises ``StoreUnavailableError`` as ever.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from askdef.errors import IndexCorruptError, StoreUnavailableError
from askdef.index.backend import REPAIR_HINT, Backend, Manifest, generation_name

PARTS = ("manifest", "documents", "chunks", "dense", "bm25")
T = TypeVar("T")


@dataclass
class Parts:
    """A generation's parts, read and checked."""

    manifest: Manifest
    docs: dict[str, Any]
    chunks: list[dict[str, Any]]
    bm25: Any
    vectors: Any


def open_parts(index: Backend[Any], key: Any) -> Parts:
    """Read generation ``key``'s parts; ``IndexCorruptError`` naming each damaged one."""
    problems: dict[str, str] = {}

    def attempt(part: str, read: Callable[[], T]) -> T | None:
        try:
            with index.guard():
                return read()
        except StoreUnavailableError:
            raise
        except Exception as exc:  # whatever a damaged file makes a library raise
            problems[part] = _said(exc)
            return None

    problems.update(attempt("manifest", lambda: index.damaged_files(key)) or {})

    def read(part: str, load: Callable[[], T]) -> T | None:
        return None if part in problems else attempt(part, load)  # never hand a library
        # a damaged file: Chroma's vector index can crash the process on one

    manifest = read("manifest", lambda: index.read_manifest(key))
    docs = read("documents", lambda: index.read_docs(key))
    chunks = read("chunks", lambda: index.read_chunks(key))
    bm25 = read("bm25", lambda: index.load_bm25(key, chunks or []))
    vectors = read("dense", lambda: index.vector_store(key))
    if manifest is not None:
        expected = manifest.chunks
        if chunks is not None and len(chunks) != expected:
            problems["chunks"] = f"{len(chunks)} chunks listed, the manifest says {expected}"
        if docs is not None and set(docs) != set(manifest.files):
            missing = sorted(set(manifest.files) - set(docs))
            problems["documents"] = f"{len(missing)} indexed file(s) missing: {missing[:3]}"
        counted = getattr(bm25, "scores", {}).get("num_docs") if bm25 is not None else None
        if counted is not None and counted != expected:
            problems["bm25"] = f"{counted} chunks, the manifest says {expected}"
        if vectors is not None and chunks:
            found = attempt("dense", lambda: _dense_problem(vectors, chunks[0]["id"], expected))
            if found:
                problems["dense"] = found
    if docs is not None and chunks is not None:
        orphans = sorted({c["doc_id"] for c in chunks} - set(docs))
        if orphans:
            problems["documents"] = f"chunks of documents it lacks: {orphans[:3]}"
    if problems:
        where = f"{generation_name(key)}"
        detail = "; ".join(f"{part}: {problems[part]}" for part in PARTS if part in problems)
        raise IndexCorruptError(
            f"The index is damaged (generation {where}: {detail}); {REPAIR_HINT}.", problems
        )
    assert manifest is not None and docs is not None and chunks is not None
    return Parts(manifest, docs, chunks, bm25, vectors)


def _dense_problem(vectors: Any, chunk_id: str, expected: int) -> str | None:
    """What is wrong with the vector store, if anything: its count, and whether the vector
    index finds a stored vector (its nearest neighbour is itself)."""
    collection = vectors.client
    count = collection.count()
    if count != expected:
        return f"{count} vectors, the manifest says {expected}"
    stored = collection.get(ids=[chunk_id], include=["embeddings"])
    if not stored["ids"]:
        return f"chunk {chunk_id} has no vector"
    hit = collection.query(query_embeddings=[stored["embeddings"][0]], n_results=1)
    if not hit["ids"][0] or hit["distances"][0][0] > 1e-3:
        return "the vector index does not find the stored vectors"
    return None


def _said(exc: Exception) -> str:
    """An error in a few words, without the rebuild hint askdef's own messages end with."""
    text = str(exc).split("; run `askdef", 1)[0].strip().rstrip(".")
    return text if isinstance(exc, IndexCorruptError) else f"{type(exc).__name__}: {text}"[:300]
