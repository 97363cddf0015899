"""The dense side of the index: a Chroma collection behind llama-index's ChromaVectorStore."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from askdef.errors import IndexCorruptError

if TYPE_CHECKING:
    from llama_index.core.schema import TextNode
    from llama_index.vector_stores.chroma import ChromaVectorStore

COLLECTION = "askdef"


def open_vector_store(gen: Path, *, create: bool = False) -> ChromaVectorStore:
    """The generation's embedded Chroma collection, cosine distance; ``create`` makes it.

    Opening never creates anything: a generation whose database is gone is damaged, and
    Chroma would otherwise make an empty one in its place (search then finds no vectors).
    """
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from llama_index.vector_stores.chroma import ChromaVectorStore

    database = gen / "chroma" / "chroma.sqlite3"
    if not create and not database.is_file():
        raise IndexCorruptError(f"{database} is missing")
    client = chromadb.PersistentClient(
        path=str(gen / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
    )
    if create:
        collection = client.create_collection(COLLECTION, metadata={"hnsw:space": "cosine"})
    else:
        collection = client.get_collection(COLLECTION)
    return ChromaVectorStore(chroma_collection=collection)


def open_reader(gen: Path) -> ChromaVectorStore:
    """Published generation ``gen``'s vectors, read from a private copy of its Chroma files
    (in the temporary folder, removed with the store or at exit). Chroma writes to its
    database whenever a client opens it (a row in ``acquire_write``): opened in place, a
    published generation would change under its readers, and one on a read-only mount could
    not be read at all."""
    import shutil
    import tempfile
    import weakref

    database = gen / "chroma" / "chroma.sqlite3"
    if not database.is_file():
        raise IndexCorruptError(f"{database} is missing")
    copy = Path(tempfile.mkdtemp(prefix=f"askdef-{gen.name}-"))
    try:
        shutil.copytree(gen / "chroma", copy / "chroma")
        store = open_vector_store(copy)
    except BaseException:
        shutil.rmtree(copy, ignore_errors=True)
        raise
    weakref.finalize(store, shutil.rmtree, copy, ignore_errors=True)
    return store


def dense_search(store: ChromaVectorStore, embedding: list[float], n: int) -> list[str]:
    """Ids of the ``n`` chunks nearest to ``embedding``, best first."""
    from llama_index.core.vector_stores.types import VectorStoreQuery

    result = store.query(VectorStoreQuery(query_embedding=embedding, similarity_top_k=n))
    return list(result.ids or [])


def add_nodes(store: ChromaVectorStore, nodes: Sequence[TextNode]) -> None:
    """Write ``nodes`` in batches the Chroma client accepts (its ``max_batch_size``, ~5,400
    embedded): llama-index's own batches are larger, so a big corpus would fail in one call."""
    batch = store.client._client.get_max_batch_size()  # the collection's client, embedded or HTTP
    for start in range(0, len(nodes), batch):
        store.add(list(nodes[start : start + batch]))


def delete_documents(store: ChromaVectorStore, doc_ids: list[str]) -> None:
    for doc_id in doc_ids:
        store.delete(ref_doc_id=doc_id)
