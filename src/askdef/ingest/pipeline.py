"""Incremental ingest: compare the corpus with the live manifest, build a new generation.

Unchanged files cost a hash each; changed files have their chunks replaced, deleted files are
removed, and a new generation is published only when it is complete. llama-index's
``IngestionPipeline`` with a docstore does the same hash bookkeeping, but askdef's manifest must
hold each file's sha256 anyway (the design's contract), so a second copy of that state in a
docstore would only be one more thing to keep consistent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from askdef._version import __version__
from askdef.errors import (
    DiskFullError,
    EmptyCorpusError,
    IndexCorruptError,
    UnreadableFileError,
)
from askdef.index.backend import Backend, Manifest
from askdef.index.check import open_parts
from askdef.index.embedding import Embedder
from askdef.index.store import disk_full, open_backend
from askdef.index.vectors import (
    add_nodes,
    add_sentences,
    close_store,
    delete_documents,
    sentence_texts,
)
from askdef.ingest.chunking import chunk_paragraphs, embed_text, make_splitter
from askdef.ingest.loading import (
    SUPPORTED_SUFFIXES,
    SUPPORTED_TYPES,
    Document,
    corpus_files,
    doc_id_of,
    load_document,
    sha256_of,
    unsupported_reason,
)
from askdef.settings import Settings
from askdef.types import IngestReport, SkippedFile

G = TypeVar("G")
ProgressFactory = Callable[[int], Callable[[int], None]]


@dataclass
class _Plan:
    new: dict[str, Document] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # doc_id -> sha256 after this run
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)


def _plan(settings: Settings, known: dict[str, str]) -> _Plan:
    corpus_dir = settings.corpus_dir
    found = corpus_files(corpus_dir)
    # Links out of the corpus are never read: unlike an unreadable file, a file that became
    # such a link keeps no last good version, so it leaves the index with `removed`.
    plan = _Plan(skipped=list(found.skipped))
    for path in found.files:
        doc_id = doc_id_of(path, corpus_dir)
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            plan.skipped.append(SkippedFile(doc_id=doc_id, reason=unsupported_reason(path)))
            continue
        try:
            data = path.read_bytes()
        except OSError as exc:
            plan.skipped.append(SkippedFile(doc_id=doc_id, reason=f"cannot be read: {exc}"))
            continue
        sha = sha256_of(data)
        if known.get(doc_id) == sha:
            plan.unchanged.append(doc_id)
            plan.files[doc_id] = sha
            continue
        try:
            doc = load_document(
                path,
                corpus_dir,
                data,
                max_chars=settings.max_file_chars,
                max_pages=settings.max_pdf_pages,
            )
        except UnreadableFileError as exc:
            plan.skipped.append(SkippedFile(doc_id=doc_id, reason=str(exc)))
            if doc_id in known:  # keep the last good version rather than lose it
                plan.unchanged.append(doc_id)
                plan.files[doc_id] = known[doc_id]
            continue
        plan.new[doc_id] = doc
        plan.files[doc_id] = sha
        (plan.updated if doc_id in known else plan.added).append(doc_id)
    plan.removed = sorted(set(known) - set(plan.files))
    if not plan.files:
        raise EmptyCorpusError(
            f"No readable {SUPPORTED_TYPES} document in {corpus_dir}"
            + (f" ({len(plan.skipped)} file(s) skipped)" if plan.skipped else "")
            + ": add documents, then run `askdef index`."
        )
    return plan


def ingest(
    settings: Settings,
    embedder_factory: Callable[[], Embedder],
    *,
    rebuild: bool = False,
    progress: ProgressFactory | None = None,
) -> IngestReport:
    """Bring the index up to date with the corpus; see the module docstring."""
    started = time.perf_counter()
    index = open_backend(settings)
    with index.guard(), index.writer_lock():
        serving, damage = _serving_generation(index)
        live = None if rebuild or damage else serving  # a damaged one is rebuilt, not updated
        manifest = index.read_manifest(live) if live else None
        if manifest:
            manifest.check_matches(settings.index_shape())
        plan = _plan(settings, manifest.files if manifest else {})
        # Crashed builds go; the serving generation stays for readers until it is replaced.
        index.remove_stale(keep={serving} if serving else set())
        if manifest and not (plan.new or plan.removed):
            return IngestReport(
                unchanged=plan.unchanged,
                skipped=plan.skipped,
                chunks=manifest.chunks,
                seconds=time.perf_counter() - started,
            )
        embedder = embedder_factory()
        chunk_count, embedded = _build(index, live, plan, settings, embedder, progress)
    return IngestReport(
        added=plan.added,
        updated=plan.updated,
        removed=plan.removed,
        unchanged=plan.unchanged,
        skipped=plan.skipped,
        chunks=chunk_count,
        embedded=embedded,
        repaired=damage,
        seconds=time.perf_counter() - started,
    )


def _serving_generation(index: Backend[G]) -> tuple[G | None, str | None]:
    """The live generation (kept for readers until it is replaced), and what is damaged in
    it, if its parts fail their check."""
    try:
        live = index.current()
    except IndexCorruptError as exc:  # CURRENT names no generation
        return None, str(exc)
    try:
        if live is not None:
            open_parts(index, live)
    except IndexCorruptError as exc:
        return live, str(exc).split("; run `askdef", 1)[0].removeprefix("The index is damaged ")
    return live, None


def _build(
    index: Backend[G],
    live: G | None,
    plan: _Plan,
    settings: Settings,
    embedder: Embedder,
    progress: ProgressFactory | None,
) -> tuple[int, int]:
    try:
        gen = index.new_generation(copy_of=live)  # a failed copy removes itself
        try:
            return _fill(index, gen, live, plan, settings, embedder, progress)
        except BaseException:
            index.discard(gen)
            raise
    except Exception as exc:
        if disk_full(exc):
            raise DiskFullError(index.disk_full_message(live)) from exc
        raise


def _fill(
    index: Backend[G],
    gen: G,
    live: G | None,
    plan: _Plan,
    settings: Settings,
    embedder: Embedder,
    progress: ProgressFactory | None,
) -> tuple[int, int]:
    # The new generation's vectors start as a copy of the live ones; docs and chunks are read
    # from the live generation, which the new one copies.
    docs: dict[str, Any] = index.read_docs(live) if live is not None else {}
    stale = set(plan.removed) | set(plan.updated)
    old = index.read_chunks(live) if live is not None else []
    chunks = [c for c in old if c["doc_id"] not in stale]
    for doc_id in plan.removed:
        docs.pop(doc_id, None)

    splitter = make_splitter(settings.chunk_size, settings.chunk_overlap, embedder.tokenize)
    nodes, sentences = [], []  # sentences: (doc_id, the text embedded for one sentence)
    for doc_id, doc in sorted(plan.new.items()):
        paragraphs = doc.paragraphs()
        docs[doc_id] = {
            "text": doc.text,
            "paragraphs": [[p.paragraph, p.section, p.start, p.end] for p in paragraphs],
        }
        if doc.page_starts:  # a PDF: the page of a paragraph or a quote is found from these
            docs[doc_id]["pages"] = list(doc.page_starts)
        nodes.extend(chunk_paragraphs(paragraphs, splitter))
        sentences += [(doc_id, s) for p in paragraphs for s in sentence_texts(p.section, p.text)]
    # chunks for search, sentences for the rerank and answer checks: embedded here, once
    chunk_texts = [embed_text(node) for node in nodes]
    texts = chunk_texts + [s for _, s in sentences]
    shown = progress(len(texts)) if progress else None
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if shown:
            shown(n)

    try:
        vectors = embedder.embed_documents(texts, tick)
    except KeyboardInterrupt as exc:
        exc.add_note(
            f"embedded {done:,} of {len(texts):,} new chunks and sentences; the partial build "
            "was removed and the previous index is unchanged"
        )
        raise
    by_doc: dict[str, tuple[list[str], list[list[float]]]] = {}
    for (doc_id, sentence), vector in zip(sentences, vectors[len(nodes) :], strict=True):
        said, embedded = by_doc.setdefault(doc_id, ([], []))
        said.append(sentence)
        embedded.append(vector)
    for node, vector in zip(nodes, vectors[: len(nodes)], strict=True):
        node.embedding = vector
    store = index.vector_store(gen, write=True)
    try:
        delete_documents(store, sorted(stale))
        for doc_id, (said, embedded) in by_doc.items():
            add_sentences(store, doc_id, said, embedded)
        add_nodes(store, nodes)
    finally:  # Chroma writes its last files when it closes: before publish checksums them
        close_store(store)
    chunks += [
        {
            "id": n.id_,
            "doc_id": n.metadata["doc_id"],
            "paragraph": n.metadata["paragraph"],
            "text": t,
        }
        for n, t in zip(nodes, chunk_texts, strict=True)
    ]
    if not chunks:
        raise EmptyCorpusError(
            f"The documents in {settings.corpus_dir} hold no paragraphs of text to index; "
            "nothing was changed."
        )
    index.write_lexical(gen, chunks)
    manifest = Manifest(
        askdef_version=__version__,
        embed_model=settings.embed_model,
        dimension=embedder.dimension,
        chunking={k: v for k, v in settings.index_shape().items() if k != "embed_model"},
        files=dict(sorted(plan.files.items())),
        chunks=len(chunks),
    )
    index.publish(gen, manifest, docs)
    return len(chunks), len(nodes)
