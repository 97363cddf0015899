"""Hybrid retrieval over one index generation: dense + BM25, fused by reciprocal rank."""

from __future__ import annotations

import bisect
import functools
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from askdef.index.backend import Backend, Manifest
from askdef.index.check import open_parts
from askdef.index.embedding import Embedder
from askdef.index.sparse import bm25_search
from askdef.index.vectors import (
    dense_search,
    sectioned,
    sentence_collection,
    stored_sentence_vectors,
)
from askdef.index.vocabulary import Vocabulary
from askdef.types import Paragraph, Passage


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], k: int) -> dict[str, float]:
    """Sum of ``1 / (k + rank)`` over the rankings each id appears in (rank from 1)."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return scores


@dataclass
class Snapshot:
    """One index generation, loaded and read-only."""

    key: Any  # the backend's name for it: compared with the live one to notice a new publish
    manifest: Manifest
    docs: dict[str, Any]
    chunk_ids: list[str]
    chunk_paragraph: dict[str, tuple[str, int]]
    bm25: Any
    vectors: Any
    sentences: Any  # the stored sentence vectors' collection, or None (see askdef.index.vectors)
    guard: Callable[[], AbstractContextManager[None]]

    @classmethod
    def open(cls, index: Backend[Any], key: Any) -> Snapshot:
        """Generation ``key`` loaded, its parts checked (``IndexCorruptError`` if one is bad)."""
        parts = open_parts(index, key)
        return cls(
            key=key,
            manifest=parts.manifest,
            docs=parts.docs,
            chunk_ids=[c["id"] for c in parts.chunks],
            chunk_paragraph={c["id"]: (c["doc_id"], c["paragraph"]) for c in parts.chunks},
            bm25=parts.bm25,
            vectors=parts.vectors,
            sentences=sentence_collection(parts.vectors),
            guard=index.guard,
        )

    def sentence_vectors(self, texts: Sequence[str]) -> dict[str, list[float]]:
        """The vectors stored at indexing for those of ``texts`` (sentences as the rerank
        embeds them) this generation holds."""
        if self.sentences is None or not texts:
            return {}
        with self.guard():
            return stored_sentence_vectors(self.sentences, texts)

    @functools.cached_property
    def vocabulary(self) -> Vocabulary:
        """What the indexed paragraphs and their sections mention (built once, on first use)."""
        return Vocabulary.of(
            sectioned(section, doc["text"][start:end])
            for doc in self.docs.values()
            for _, section, start, end in doc["paragraphs"]
        )

    def paragraph(self, doc_id: str, n: int) -> Paragraph:
        """Paragraph ``n`` (from 1) of ``doc_id``; ``KeyError`` when there is none."""
        paragraphs = self.docs[doc_id]["paragraphs"]
        if not 1 <= n <= len(paragraphs):
            raise KeyError(f"{doc_id} has no paragraph {n}")
        doc = self.docs[doc_id]
        _, section, start, end = paragraphs[n - 1]
        return Paragraph(
            doc_id=doc_id,
            paragraph=n,
            section=section,
            text=doc["text"][start:end],
            start=start,
            end=end,
            page=page_at(doc.get("pages", ()), start),
        )

    def search(
        self, query: str, embedder: Embedder, *, k: int, candidates: int, rrf_k: int
    ) -> list[Passage]:
        embedding = embedder.embed_query(query)
        with self.guard():  # a Chroma server may have gone away since the generation opened
            dense = dense_search(self.vectors, embedding, candidates)
        sparse = [
            self.chunk_ids[i]
            for i in bm25_search(self.bm25, query, candidates, len(self.chunk_ids))
        ]
        fused = reciprocal_rank_fusion([dense, sparse], rrf_k)
        passages: list[Passage] = []
        seen: set[tuple[str, int]] = set()
        for chunk_id, score in sorted(fused.items(), key=lambda kv: -kv[1]):
            key = self.chunk_paragraph.get(chunk_id)
            if key is None or key in seen:
                continue
            seen.add(key)
            passages.append(Passage(**self.paragraph(*key).model_dump(), score=score))
            if len(passages) == k:
                break
        return passages


def page_at(page_starts: Sequence[int], offset: int) -> int | None:
    """The page (from 1) holding ``offset`` of a document's text; None without pages."""
    return bisect.bisect_right(page_starts, offset) or None if page_starts else None
