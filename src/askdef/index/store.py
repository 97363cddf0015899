"""The index on disk: immutable generations, a manifest, an atomic ``CURRENT`` pointer, a lock.

    index/
      CURRENT          name of the live generation (replaced atomically)
      .lock            held by the one process that writes
      gen-<id>/        manifest.json (written last), checksums.json, docs.json, chunks.jsonl,
                       bm25/, chroma/, compact.json (chroma/'s size when written afresh)

A writer builds a new generation beside the live one and swaps ``CURRENT`` when it is complete,
so readers never see a half-written index and a crash leaves the previous one in place.

``IndexDir`` is the embedded ``askdef.index.backend.Backend`` (the default);
``askdef.index.chroma_server.ServerIndex`` keeps the same generations in a Chroma server.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from askdef.errors import (
    IndexCorruptError,
    IndexLockedError,
    IndexMissingError,
    IndexNotWritableError,
)
from askdef.index.backend import REPAIR_HINT, Backend, Manifest

if TYPE_CHECKING:
    import bm25s
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from askdef.settings import Settings

CURRENT = "CURRENT"
MANIFEST = "manifest.json"
DOCS = "docs.json"
CHUNKS = "chunks.jsonl"
CHECKSUMS = "checksums.json"  # each file's size and sha256, checked before anything reads it
# the Chroma files' size and the chunk count when the vectors were last written afresh
COMPACT = "compact.json"
# Chroma keeps what updates delete (its log, HNSW slots, free database pages), and a
# generation starts as a copy of the last: past this many times their fresh size (per chunk),
# a new generation copies the live records alone
OUTGROWN = 1.5
_PART_OF = {DOCS: "documents", CHUNKS: "chunks", "bm25": "bm25", "chroma": "dense"}


def open_backend(settings: Settings) -> Backend[Any]:
    """The Chroma server when ``settings.chroma_url`` is set, else the embedded ``index_dir``."""
    if settings.chroma_url:
        from askdef.index.chroma_server import ServerIndex

        return ServerIndex(settings)
    return IndexDir(settings.index_dir)


def disk_full(exc: BaseException) -> bool:
    """Whether ``exc``, or what caused it, is a disk out of space (an OSError, or the words
    of the libraries that wrap one: shutil's list of errors, SQLite's "disk is full")."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno == errno.ENOSPC:
            return True
        if "No space left on device" in str(seen) or "database or disk is full" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def _megabytes(folder: Path) -> float:
    return _bytes(folder) / 1e6


def _outgrown(gen: Path, manifest: Manifest) -> bool:
    """Whether ``gen``'s Chroma files are past ``OUTGROWN`` times their size when written
    afresh, for its number of chunks (always, for a generation that did not record it)."""
    try:
        fresh = json.loads((gen / COMPACT).read_text(encoding="utf-8"))
        per_chunk = fresh["bytes"] / max(1, fresh["chunks"])
    except (OSError, ValueError, KeyError, TypeError):
        return True
    return _bytes(gen / "chroma") > OUTGROWN * per_chunk * max(1, manifest.chunks)


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def _fsync_tree(root: Path) -> None:
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            with open(os.path.join(dirpath, name), "rb") as fh:
                os.fsync(fh.fileno())
        fd = os.open(dirpath, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class IndexDir:
    """The index folder: which generation is live, and the writer's lock."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def current(self) -> Path | None:
        """The live generation's folder, or None before the first ingest."""
        pointer = self.path / CURRENT
        try:
            name = pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        except (UnicodeDecodeError, IsADirectoryError) as exc:  # damaged like a wrong name
            raise IndexCorruptError(
                f"{pointer} is unreadable ({exc}): it should name the live generation; "
                f"{REPAIR_HINT}."
            ) from exc
        gen = self.path / name
        if not name or "/" in name or not gen.is_dir():
            raise IndexCorruptError(
                f"{self.path / CURRENT} names a missing generation {name!r}; {REPAIR_HINT}."
            )
        return gen

    def require_current(self) -> Path:
        gen = self.current()
        if gen is None:
            raise IndexMissingError(
                f"No index in {self.path}: run `askdef index` to build it from the corpus."
            )
        return gen

    def read_manifest(self, gen: Path) -> Manifest:
        try:
            raw = json.loads((gen / MANIFEST).read_text(encoding="utf-8"))
            return Manifest(**raw)
        except (OSError, ValueError, TypeError) as exc:
            raise IndexCorruptError(
                f"The index manifest {gen / MANIFEST} is unreadable ({exc}); {REPAIR_HINT}."
            ) from exc

    @contextlib.contextmanager
    def writer_lock(self) -> Iterator[None]:
        """Hold the single-writer lock, or raise ``IndexLockedError`` at once."""
        from filelock import FileLock, Timeout

        lock = FileLock(self.path / ".lock")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            lock.acquire(timeout=0)
        except Timeout as exc:  # a TimeoutError, so an OSError: caught first
            raise IndexLockedError(
                f"Another askdef process is writing the index in {self.path}; wait for it to "
                "finish (only one writer at a time keeps the store consistent)."
            ) from exc
        except OSError as exc:  # a read-only mount (EROFS), no permission (EACCES) …
            raise IndexNotWritableError(
                f"Cannot write the index in {self.path} ({exc.strerror or exc}): updating it "
                "needs a writable folder. Make it writable or point ASKDEF_INDEX_DIR at one "
                "(search and serving work on a read-only index)."
            ) from exc
        try:
            yield
        finally:
            lock.release()

    def new_generation(self, copy_of: Path | None) -> Path:
        """A fresh generation folder whose vectors start as ``copy_of``'s, when given: a copy
        of its files, or of its live records alone when its files have grown too large
        (``_outgrown``)."""
        gen = self.path / f"gen-{uuid.uuid4().hex[:12]}"
        try:
            if copy_of is not None and not _outgrown(copy_of, self.read_manifest(copy_of)):
                shutil.copytree(copy_of, gen)
                (gen / MANIFEST).unlink()
            else:
                gen.mkdir(parents=True)
                _write_vectors(gen, copy_of)
        except BaseException:  # a half-made copy (a full disk, Ctrl-C) must not stay behind
            self.discard(gen)
            raise
        return gen

    def publish(self, gen: Path, manifest: Manifest, docs: dict[str, Any]) -> None:
        """Finish ``gen`` (docs, manifest last, fsync) and make it the live generation."""
        _write_json(gen / DOCS, docs)
        if not (gen / COMPACT).is_file():  # built afresh: its size is the one to grow from
            _write_json(gen / COMPACT, {"bytes": _bytes(gen / "chroma"), "chunks": manifest.chunks})
        _write_json(gen / CHECKSUMS, _checksums(gen))
        _write_json(gen / MANIFEST, manifest.__dict__)
        _fsync_tree(gen)
        pointer = self.path / f".{CURRENT}.{uuid.uuid4().hex[:8]}"
        pointer.write_text(gen.name, encoding="utf-8")
        os.replace(pointer, self.path / CURRENT)
        fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def read_docs(self, gen: Path) -> dict[str, Any]:
        return read_docs(gen)

    def damaged_files(self, gen: Path) -> dict[str, str]:
        try:
            published = json.loads((gen / CHECKSUMS).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            return {"manifest": f"{gen / CHECKSUMS} is unreadable ({exc})"}
        found = _checksums(gen)
        problems: dict[str, str] = {}
        for name in sorted(set(published) | set(found)):
            if published.get(name) != found.get(name):
                what = (
                    "missing"
                    if name not in found
                    else "not published"
                    if name not in published
                    else "changed"
                )
                problems.setdefault(_PART_OF.get(name.split("/")[0], "manifest"), f"{name} {what}")
        return problems

    def read_chunks(self, gen: Path) -> list[dict[str, Any]]:
        return read_chunks(gen)

    def vector_store(self, gen: Path, *, write: bool = False) -> ChromaVectorStore:
        from askdef.index.vectors import open_reader, open_vector_store

        return open_vector_store(gen) if write else open_reader(gen)

    def write_lexical(self, gen: Path, chunks: list[dict[str, Any]]) -> None:
        from askdef.index.sparse import build_bm25

        write_chunks(gen, chunks)
        build_bm25([c["text"] for c in chunks], gen / "bm25")

    def load_bm25(self, gen: Path, chunks: list[dict[str, Any]]) -> bm25s.BM25:
        from askdef.index.sparse import load_bm25

        return load_bm25(gen / "bm25")

    def discard(self, gen: Path) -> None:
        shutil.rmtree(gen, ignore_errors=True)

    def disk_full_message(self, live: Path | None) -> str:
        free = shutil.disk_usage(self.path).free / 1e6
        need = (
            f"a copy of the live index ({_megabytes(live):.1f} MB) plus the new chunks"
            if live is not None
            else "room for every chunk's vector, text and BM25 entry"
        )
        return (
            f"The disk holding {self.path} is full ({free:.1f} MB free): a new index "
            f"generation needs {need}. Free space there, or point ASKDEF_INDEX_DIR at a larger "
            "disk; the live index is unchanged and the partial one was removed."
        )

    def guard(self) -> AbstractContextManager[None]:
        return contextlib.nullcontext()

    def remove_stale(self, keep: set[Path]) -> None:
        """Delete generations not in ``keep`` (crashed builds, superseded generations)."""
        for gen in self.path.glob("gen-*"):
            if gen not in keep:
                shutil.rmtree(gen, ignore_errors=True)
        for tmp in self.path.glob(f".{CURRENT}.*"):
            tmp.unlink(missing_ok=True)


def _write_vectors(gen: Path, copy_of: Path | None) -> None:
    """A new Chroma database in ``gen`` holding the live records of ``copy_of``'s, if given."""
    from askdef.index.vectors import close_store, copy_vectors, open_reader, open_vector_store

    store = open_vector_store(gen, create=True)
    try:
        if copy_of is not None:
            source = open_reader(copy_of)
            try:
                copy_vectors(source, store)
            finally:
                close_store(source)
    finally:
        close_store(store)


def _checksums(gen: Path) -> dict[str, list[Any]]:
    """[size, sha256] of every file of ``gen`` but the manifest and this list itself."""
    sums: dict[str, list[Any]] = {}
    for path in sorted(p for p in gen.rglob("*") if p.is_file()):
        name = path.relative_to(gen).as_posix()
        if name not in (MANIFEST, CHECKSUMS):
            digest = hashlib.sha256()
            with open(path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
            sums[name] = [path.stat().st_size, digest.hexdigest()]
    return sums


def read_docs(gen: Path) -> dict[str, Any]:
    try:
        return json.loads((gen / DOCS).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"{gen / DOCS} is unreadable ({exc}); {REPAIR_HINT}.") from exc


def read_chunks(gen: Path) -> list[dict[str, Any]]:
    try:
        with open(gen / CHUNKS, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"{gen / CHUNKS} is unreadable ({exc}); {REPAIR_HINT}.") from exc


def write_chunks(gen: Path, chunks: list[dict[str, Any]]) -> None:
    with open(gen / CHUNKS, "w", encoding="utf-8") as fh:
        for chunk in chunks:
            fh.write(json.dumps(chunk, ensure_ascii=False) + "\n")
