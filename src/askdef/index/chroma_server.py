"""The index in a Chroma server (``ASKDEF_CHROMA_URL``), shared by every askdef replica.

The same immutable generations as the embedded store (``askdef.index.store``), kept in Chroma itself
so that replicas on several machines need nothing but the server's URL (no shared filesystem):

    askdef-gen-<id>      one collection per generation: chunk embeddings, text, metadata
    askdef-meta          small records, JSON in ``documents``:
      current              the live generation's name (one upsert = the atomic publish)
      lock                 the writer's lease: owner and expiry
      manifest:<gen>       the generation's Manifest
      docs:<gen>           documents and paragraph offsets (split into parts when large)
      chunks:<gen>         chunk ids, paragraphs and texts, in BM25 order (split likewise)

BM25 is not stored: each replica rebuilds it in memory from ``chunks:<gen>`` when it opens a
generation (SQuAD's ~2,300 chunks index in well under a second). Stored BM25 files would need a
filesystem every replica shares, or a second copy of the chunk texts in a format only bm25s reads;
rebuilding from the texts Chroma already holds keeps one source of truth.

Replicas read ``current`` on every search (one small get) and reopen when it changed, as the
embedded mode re-reads ``CURRENT``.

The writer lock is a lease in ``lock`` (``askdef.index.chroma_lease``).
"""

from __future__ import annotations

import contextlib
import functools
import json
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from askdef.errors import (
    IndexCorruptError,
    IndexMissingError,
    StoreError,
    StoreUnavailableError,
)
from askdef.index.backend import REPAIR_HINT, Manifest
from askdef.index.chroma_lease import LeaseLock, meta_vectors
from askdef.index.vectors import copy_records

if TYPE_CHECKING:
    import bm25s
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from askdef.settings import Settings

PREFIX = "askdef-"
META = "askdef-meta"
PART = 1_000_000  # characters per meta record: keeps each request small for proxies
SENTENCES = (
    "-sentences"  # a generation's sentence vectors (askdef.index.vectors.sentence_collection)
)


@functools.cache
def _client(url: str, token: str, tenant: str, database: str) -> ClientAPI:
    """One HTTP client per server per process (it pools connections and reconnects itself)."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        from askdef.errors import InputError

        raise InputError(f"ASKDEF_CHROMA_URL must look like http://host:port, not {url!r}.")
    extra: dict[str, Any] = {}
    if token:
        extra = {
            "chroma_client_auth_provider": "chromadb.auth.token_authn.TokenAuthClientProvider",
            "chroma_client_auth_credentials": token,
        }
    return chromadb.HttpClient(
        host=parts.hostname,
        port=parts.port or (443 if parts.scheme == "https" else 8000),
        ssl=parts.scheme == "https",
        tenant=tenant,
        database=database,
        settings=ChromaSettings(anonymized_telemetry=False, **extra),
    )


class ServerIndex:
    """``backend.Backend`` over a Chroma server; generations are named ``gen-<hex>``."""

    def __init__(self, settings: Settings) -> None:
        self.url = settings.chroma_url
        self._key = (
            settings.chroma_url,
            settings.chroma_token,
            settings.chroma_tenant,
            settings.chroma_database,
        )
        self._lock = LeaseLock(self._meta, self.url, self._unavailable)

    # -- connection -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _unavailable(self) -> Iterator[None]:
        import httpx

        try:
            yield
        except (httpx.TransportError, ConnectionError) as exc:
            raise self._down(exc) from exc
        except ValueError as exc:  # chromadb's own wording for a refused first connection
            if "Could not connect" not in str(exc):
                raise
            raise self._down(exc) from exc

    def _down(self, exc: Exception) -> StoreUnavailableError:
        return StoreUnavailableError(
            f"The Chroma server at {self.url} cannot be reached ({type(exc).__name__}: {exc}). "
            "Start it (`chroma run --path DIR --port N`) or fix ASKDEF_CHROMA_URL; askdef "
            "reconnects on the next request."
        )

    def guard(self) -> AbstractContextManager[None]:
        return self._unavailable()

    def _api(self) -> ClientAPI:
        with self._unavailable():
            try:
                return _client(*self._key)
            except Exception as exc:  # chromadb.errors.NotFoundError for a tenant or database
                if "not found" not in str(exc).lower():
                    raise
                raise StoreError(
                    f"The Chroma server at {self.url} says: {exc} Create it there, or fix "
                    "ASKDEF_CHROMA_TENANT / ASKDEF_CHROMA_DATABASE."
                ) from exc

    def _meta(self) -> Collection:
        return self._api().get_or_create_collection(META, embedding_function=None)

    # -- small JSON records -----------------------------------------------------------------

    def _put(self, key: str, gen: str, value: Any) -> None:
        """Store ``value`` as JSON under ``key``, in parts, the header (part count) last."""
        text = json.dumps(value, ensure_ascii=False)
        parts = [text[i : i + PART] for i in range(0, len(text), PART)] or [""]
        meta = self._meta()
        ids = [f"{key}#{i}" for i in range(len(parts))]
        meta.upsert(
            ids=ids,
            documents=parts,
            embeddings=meta_vectors(len(parts)),
            metadatas=[{"gen": gen, "part": i} for i in range(len(parts))],
        )
        meta.upsert(
            ids=[key],
            documents=[""],
            embeddings=meta_vectors(1),
            metadatas=[{"gen": gen, "parts": len(parts)}],
        )

    def _get(self, key: str) -> Any:
        meta = self._meta()
        head = meta.get(ids=[key], include=["metadatas"])
        if not head["ids"]:
            raise IndexCorruptError(
                f"The Chroma server at {self.url} lacks the record {key!r}; {REPAIR_HINT}."
            )
        count = int(str((head["metadatas"] or [{}])[0].get("parts", 0)))
        ids = [f"{key}#{i}" for i in range(count)]
        got = meta.get(ids=ids, include=["documents"])
        found = dict(zip(got["ids"], got["documents"] or [], strict=True))
        try:
            return json.loads("".join(found[i] for i in ids))
        except (KeyError, ValueError) as exc:
            raise IndexCorruptError(
                f"The record {key!r} on the Chroma server at {self.url} is incomplete ({exc}); "
                f"{REPAIR_HINT}."
            ) from exc

    # -- generations ------------------------------------------------------------------------

    def current(self) -> str | None:
        got = self._meta().get(ids=["current"], include=["documents"])
        if not got["ids"]:
            return None
        return str((got["documents"] or [""])[0]) or None

    def require_current(self) -> str:
        gen = self.current()
        if gen is None:
            raise IndexMissingError(
                f"No index on the Chroma server at {self.url}: run `askdef index` (with the same "
                "ASKDEF_CHROMA_URL) to build it from the corpus."
            )
        return gen

    def read_manifest(self, gen: str) -> Manifest:
        try:
            return Manifest(**self._get(f"manifest:{gen}"))
        except TypeError as exc:
            raise IndexCorruptError(f"The manifest of {gen} is unreadable; {REPAIR_HINT}.") from exc

    def read_docs(self, gen: str) -> dict[str, Any]:
        return dict(self._get(f"docs:{gen}"))

    def read_chunks(self, gen: str) -> list[dict[str, Any]]:
        return list(self._get(f"chunks:{gen}"))

    def _collection(self, gen: str, *, create: bool = False) -> Collection:
        api = self._api()
        if create:
            return api.create_collection(
                PREFIX + gen, metadata={"hnsw:space": "cosine"}, embedding_function=None
            )
        try:
            return api.get_collection(PREFIX + gen, embedding_function=None)
        except Exception as exc:  # chromadb raises NotFoundError (or ValueError in old clients)
            if "does not exist" not in str(exc) and "NotFound" not in type(exc).__name__:
                raise
            raise IndexCorruptError(
                f"The Chroma server at {self.url} lacks the collection {PREFIX + gen}; "
                f"{REPAIR_HINT}."
            ) from exc

    def vector_store(self, gen: str, *, write: bool = False) -> ChromaVectorStore:
        from llama_index.vector_stores.chroma import ChromaVectorStore

        return ChromaVectorStore(chroma_collection=self._collection(gen))

    def new_generation(self, copy_of: str | None) -> str:
        """A fresh collection; the live one's records are copied (embeddings are not redone)."""
        gen = f"gen-{uuid.uuid4().hex[:12]}"
        target = self._collection(gen, create=True)
        if copy_of is not None:
            copy_records(self._collection(copy_of), target)
            api = self._api()
            with contextlib.suppress(Exception):  # a generation built without sentences
                sentences = api.get_collection(
                    PREFIX + copy_of + SENTENCES, embedding_function=None
                )
                copy_records(
                    sentences,
                    api.create_collection(PREFIX + gen + SENTENCES, embedding_function=None),
                )
        return gen

    def write_lexical(self, gen: str, chunks: list[dict[str, Any]]) -> None:
        self._put(f"chunks:{gen}", gen, chunks)

    def load_bm25(self, gen: str, chunks: list[dict[str, Any]]) -> bm25s.BM25:
        from askdef.index.sparse import index_bm25

        return index_bm25([c["text"] for c in chunks])

    def publish(self, gen: str, manifest: Manifest, docs: dict[str, Any]) -> None:
        self._put(f"docs:{gen}", gen, docs)
        self._put(f"manifest:{gen}", gen, manifest.__dict__)
        self._lock.check()  # a writer that lost its lease must not publish over the new owner
        self._meta().upsert(ids=["current"], documents=[gen], embeddings=meta_vectors(1))

    def discard(self, gen: str) -> None:
        with contextlib.suppress(Exception):  # best effort: the server may be what failed
            self._drop(gen)

    def damaged_files(self, gen: str) -> dict[str, str]:
        return {}  # no files: the server keeps its own, and its reads fail as errors

    def disk_full_message(self, live: str | None) -> str:
        return (
            f"The Chroma server at {self.url} ran out of disk space while it stored the new "
            "index generation (the chunks' vectors and texts, plus a copy of the live ones). "
            "Free space on that server; the live index is unchanged and the partial one was "
            "removed."
        )

    def _drop(self, gen: str) -> None:
        for name in (PREFIX + gen, PREFIX + gen + SENTENCES):
            with contextlib.suppress(Exception):
                self._api().delete_collection(name)
        self._meta().delete(where={"gen": gen})

    def writer_lock(self) -> AbstractContextManager[None]:
        return self._lock.hold()

    def remove_stale(self, keep: set[str]) -> None:
        """Drop generations not in ``keep`` (crashed builds, superseded generations)."""
        for collection in self._api().list_collections():
            gen = collection.name.removeprefix(PREFIX).removesuffix(SENTENCES)
            if collection.name.startswith(PREFIX + "gen-") and gen not in keep:
                self._drop(gen)
