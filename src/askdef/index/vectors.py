"""The dense side of the index: a Chroma collection behind llama-index's ChromaVectorStore,
and beside it the vectors of every paragraph's sentences, embedded once at indexing for the
rerank and the answer checks (``sentence_texts``; looked up by ``stored_sentence_vectors``)."""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import weakref
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
    What the client holds (database handles, threads) is released once neither the store nor
    its collection is referenced any more, or at exit: see ``_release``.
    """
    database = gen / "chroma" / "chroma.sqlite3"
    if not create and not database.is_file():
        raise IndexCorruptError(f"{database} is missing")
    client, store = _open(gen / "chroma", create=create)
    _on_release(store, client, None, None)
    return store


def open_reader(gen: Path) -> ChromaVectorStore:
    """Published generation ``gen``'s vectors, read from a private copy of its Chroma files
    in the temporary folder. Chroma writes to its database whenever a client opens it (a row
    in ``acquire_write``): opened in place, a published generation would change under its
    readers, and one on a read-only mount could not be read at all.

    The client and the copy go once neither the store nor its collection is referenced any
    more (a reader that moved on to a newer generation drops it, and CPython frees it as soon
    as the last search still using it returns) or at exit; the copy of a process that was
    killed is removed by the next one that opens a reader (``_remove_orphans``).
    """
    database = gen / "chroma" / "chroma.sqlite3"
    if not database.is_file():
        raise IndexCorruptError(f"{database} is missing")
    _remove_orphans()
    copy, owner = _private_folder(gen.name)
    try:
        shutil.copytree(gen / "chroma", copy / "chroma")
        client, store = _open(copy / "chroma", create=False)
    except BaseException:
        _remove_copy(copy, owner)
        raise
    _on_release(store, client, copy, owner)
    return store


def _open(folder: Path, *, create: bool) -> tuple[Any, ChromaVectorStore]:
    """A Chroma client on ``folder`` and the askdef collection in it, cosine distance."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from llama_index.vector_stores.chroma import ChromaVectorStore

    # a chromadb Client, whose close() its declared type (ClientAPI) leaves out
    client: Any = chromadb.PersistentClient(
        path=str(folder), settings=ChromaSettings(anonymized_telemetry=False)
    )
    try:
        if create:
            collection = client.create_collection(COLLECTION, metadata={"hnsw:space": "cosine"})
        else:
            collection = client.get_collection(COLLECTION)
    except BaseException:
        client.close()
        raise
    return client, ChromaVectorStore(chroma_collection=collection)


def close_store(store: ChromaVectorStore) -> None:
    """Release now what opening ``store`` took (``_release``); a writer does before its
    generation is published, since Chroma writes its last files when its client closes. A
    no-op for a store opened otherwise (the Chroma server's) or already released."""
    release = _releases.get(id(store.client))
    if release is not None:
        release()


# id of a store's collection -> its release, run once: by close_store, when the collection
# is garbage, or at exit (weakref.finalize); the entry goes with the run, before the id can
# be reused
_releases: dict[int, weakref.finalize[..., None]] = {}


def _on_release(store: ChromaVectorStore, *what: Any) -> None:
    key = id(store.client)
    _releases[key] = weakref.finalize(store.client, _release, key, *what)


def _release(key: int, client: Any, copy: Path | None, owner: int | None) -> None:
    """Close a store's Chroma client, then remove its private copy and unlock it.

    Chroma keeps every client's system (a SQLite pool, threads, open HNSW files) in a
    process-wide table until ``close()``: a store that was merely dropped kept all of it, and
    its removed copy stayed on disk as deleted files still open. A reader's store is released
    when its collection is garbage, not as soon as a newer generation goes live (a search
    may still be using the old one).
    """
    _releases.pop(key, None)
    client.close()
    if copy is not None and owner is not None:
        _remove_copy(copy, owner)


def _remove_copy(copy: Path, owner: int) -> None:
    """Remove a private copy, then let go of its ``_OWNER`` lock."""
    shutil.rmtree(copy, ignore_errors=True)
    os.close(owner)


# A reader's private copy: askdef-<generation>-<random>/ holding _OWNER, a file its process
# keeps locked (flock: released by the kernel however the process ends) while it lives.
# Built under a dot name and renamed once locked, so a folder with the askdef- name whose
# _OWNER is unlocked belongs to a process that is gone.
_COPY_PREFIX = "askdef-gen-"
_OWNER = ".owner"


def _private_folder(name: str) -> tuple[Path, int]:
    """A new private folder in the temporary folder, named after generation ``name``, and
    the descriptor of its ``_OWNER`` file, locked."""
    building = Path(tempfile.mkdtemp(prefix=f".askdef-{name}-", dir=tempfile.gettempdir()))
    owner = os.open(building / _OWNER, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(owner, fcntl.LOCK_EX | fcntl.LOCK_NB)
        folder = building.with_name(building.name[1:])
        os.rename(building, folder)
    except BaseException:
        _remove_copy(building, owner)
        raise
    return folder, owner


def _remove_orphans() -> None:
    """Remove the private copies of processes that ended without removing theirs (killed)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{_COPY_PREFIX}*"):
        try:
            owner = os.open(folder / _OWNER, os.O_RDWR)
        except OSError:  # not one of ours, or removed meanwhile
            continue
        try:
            fcntl.flock(owner, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # locked: its process is alive
            os.close(owner)
            continue
        _remove_copy(folder, owner)


def copy_vectors(source: ChromaVectorStore, target: ChromaVectorStore) -> None:
    """Every record of ``source``'s collection and of its sentence vectors' into ``target``'s:
    only the live ones, whatever ``source`` still keeps of deleted records."""
    copy_records(source.client, target.client)
    sentences = sentence_collection(source)
    if sentences is not None:
        copy_records(sentences, sentence_collection(target, create=True))


def copy_records(source: Any, target: Any) -> None:
    """Every record of Chroma collection ``source`` into ``target``, embeddings included (none
    is redone), a thousand at a time."""
    offset = 0
    while True:
        got = source.get(
            include=["embeddings", "documents", "metadatas"], limit=_COPY_BATCH, offset=offset
        )
        if not got["ids"]:
            return
        target.add(
            ids=got["ids"],
            embeddings=got["embeddings"],
            documents=got["documents"],
            metadatas=got["metadatas"],
        )
        offset += len(got["ids"])


_COPY_BATCH = 1000


def dense_search(store: ChromaVectorStore, embedding: list[float], n: int) -> list[str]:
    """Ids of the ``n`` chunks nearest to ``embedding``, best first."""
    from llama_index.core.vector_stores.types import VectorStoreQuery

    result = store.query(VectorStoreQuery(query_embedding=embedding, similarity_top_k=n))
    return list(result.ids or [])


def add_nodes(store: ChromaVectorStore, nodes: Sequence[TextNode]) -> None:
    """Write ``nodes`` in batches the Chroma client accepts (its ``max_batch_size``, ~5,400
    embedded): llama-index's own batches are larger, so a big corpus would fail in one call."""
    # max batch size is public only on a Chroma client, and a collection keeps its client private
    batch = store.client._client.get_max_batch_size()
    for start in range(0, len(nodes), batch):
        store.add(list(nodes[start : start + batch]))


def delete_documents(store: ChromaVectorStore, doc_ids: list[str]) -> None:
    sentences = sentence_collection(store, create=True)
    for doc_id in doc_ids:
        store.delete(ref_doc_id=doc_id)
        sentences.delete(where={"doc_id": doc_id})


def sectioned(section: str | None, text: str) -> str:
    """``text`` under its section's line: what a sentence vector is embedded from and stored
    under (``sentence_key``), so every caller builds it here; another format would miss every
    stored vector and embed each sentence again."""
    return f"{section or ''}\n{text}"


def sentence_texts(section: str | None, text: str) -> list[str]:
    """What is embedded for each sentence of a paragraph: its section line, then the sentence
    (``askdef.answer.relevance.score_sentences`` asks for exactly these)."""
    from askdef.text import sentence_spans

    return [sectioned(section, text[a:b]) for a, b in sentence_spans(text)]


def sentence_collection(store: ChromaVectorStore, *, create: bool = False) -> Any:
    """The collection of sentence vectors beside ``store``'s (same client, name + suffix);
    None when reading a generation that has none."""
    from chromadb.api.models.Collection import Collection

    chunks = store.client
    # the collection's own client (embedded, or the server's), private: the public client that
    # made it is not reachable from a ChromaVectorStore, nor from a chromadb Collection
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
    batch = sentences._client.get_max_batch_size()  # private: as in add_nodes
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
