"""The dense side of the index: a Chroma collection behind llama-index's ChromaVectorStore,
and beside it the vectors of every paragraph's sentences, embedded once at indexing for the
rerank and the answer checks (``sentence_texts``; looked up by ``stored_sentence_vectors``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
    sentences = sentence_collection(store, create=True)
    for doc_id in doc_ids:
        store.delete(ref_doc_id=doc_id)
        sentences.delete(where={"doc_id": doc_id})


def sentence_texts(section: str | None, text: str) -> list[str]:
    """What is embedded for each sentence of a paragraph: its section line, then the sentence
    (``askdef.answer.relevance.score_sentences`` asks for exactly these)."""
    from askdef.text import sentence_spans

    return [f"{section or ''}\n{text[a:b]}" for a, b in sentence_spans(text)]


def sentence_collection(store: ChromaVectorStore, *, create: bool = False) -> Any:
    """The collection of sentence vectors beside ``store``'s (same client, name + suffix);
    None when reading a generation that has none."""
    from chromadb.api.models.Collection import Collection

    chunks = store.client
    # the collection's own client (embedded, or the server's): the public client that made it
    # is not reachable from a ChromaVectorStore
    api, name = chunks._client, f"{chunks.name}-sentences"
    where = {"tenant": chunks.tenant, "database": chunks.database}
    if create:
        model = api.get_or_create_collection(name=name, metadata={"hnsw:space": "cosine"}, **where)
    else:
        try:
            model = api.get_collection(name=name, **where)
        except Exception:  # NotFoundError: built before sentences were stored; embedded then
            return None
    return Collection(client=api, model=model, embedding_function=None)


def add_sentences(
    store: ChromaVectorStore, doc_id: str, texts: list[str], vectors: list[list[float]]
) -> None:
    """Store ``texts``' vectors (keyed by the text's hash, so a sentence a document repeats is
    stored once) in batches the client accepts."""
    sentences = sentence_collection(store, create=True)
    batch = sentences._client.get_max_batch_size()
    unique = dict(zip(map(sentence_key, texts), vectors, strict=True))
    keys = list(unique)
    for start in range(0, len(keys), batch):
        part = keys[start : start + batch]
        sentences.upsert(
            ids=part,
            embeddings=[unique[k] for k in part],
            metadatas=[{"doc_id": doc_id}] * len(part),
        )


def stored_sentence_vectors(sentences: Any, texts: Sequence[str]) -> dict[str, list[float]]:
    """The stored vectors of those of ``texts`` the collection holds."""
    keys = {sentence_key(t): t for t in texts}
    got = sentences.get(ids=list(keys), include=["embeddings"])
    import numpy as np

    found = np.asarray(got["embeddings"], dtype=np.float64).tolist() if got["ids"] else []
    return dict(zip((keys[i] for i in got["ids"]), found, strict=True))


def sentence_key(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]
