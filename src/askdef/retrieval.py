"""Hybrid retrieval over one index generation: dense + BM25, fused by reciprocal rank."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from askdef.embedding import Embedder
from askdef.sparse import bm25_search, load_bm25
from askdef.store import IndexDir, Manifest, read_chunks, read_docs
from askdef.types import Paragraph, Passage
from askdef.vectors import dense_search, open_vector_store


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], k: int) -> dict[str, float]:
    """Sum of ``1 / (k + rank)`` over the rankings each id appears in (rank from 1)."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return scores


@dataclass
class Generation:
    """A loaded, read-only index generation."""

    path: Path
    manifest: Manifest
    docs: dict[str, Any]
    chunk_ids: list[str]
    chunk_paragraph: dict[str, tuple[str, int]]
    bm25: Any
    vectors: Any

    @classmethod
    def open(cls, index: IndexDir, path: Path) -> Generation:
        manifest = index.read_manifest(path)
        chunks = read_chunks(path)
        return cls(
            path=path,
            manifest=manifest,
            docs=read_docs(path),
            chunk_ids=[c["id"] for c in chunks],
            chunk_paragraph={c["id"]: (c["doc_id"], c["paragraph"]) for c in chunks},
            bm25=load_bm25(path / "bm25"),
            vectors=open_vector_store(path),
        )

    def paragraph(self, doc_id: str, n: int) -> Paragraph:
        """Paragraph ``n`` (from 1) of ``doc_id``; ``KeyError`` when there is none."""
        paragraphs = self.docs[doc_id]["paragraphs"]
        if not 1 <= n <= len(paragraphs):
            raise KeyError(f"{doc_id} has no paragraph {n}")
        doc = self.docs[doc_id]
        _, section, start, end = paragraphs[n - 1]
        return Paragraph(
            doc_id=doc_id, n=n, section=section, text=doc["text"][start:end], start=start, end=end
        )

    def search(
        self, query: str, embedder: Embedder, *, k: int, candidates: int, rrf_k: int
    ) -> list[Passage]:
        dense = dense_search(self.vectors, embedder.embed_query(query), candidates)
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
            p = self.paragraph(*key)
            passages.append(
                Passage(
                    doc_id=p.doc_id,
                    paragraph=p.n,
                    text=p.text,
                    score=score,
                    start=p.start,
                    end=p.end,
                    section=p.section,
                )
            )
            if len(passages) == k:
                break
        return passages
