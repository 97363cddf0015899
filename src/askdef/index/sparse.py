"""The lexical side of the index: BM25 (bm25s) with English stopwords and a Snowball stemmer."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import bm25s


@functools.cache
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def _tokenize(texts: list[str], return_ids: bool) -> Any:
    import bm25s

    from askdef.text import STOPWORDS

    return bm25s.tokenize(
        texts,
        stopwords=sorted(STOPWORDS),
        stemmer=_stemmer(),
        return_ids=return_ids,
        show_progress=False,
    )


def index_bm25(texts: list[str]) -> bm25s.BM25:
    """An in-memory BM25 index of ``texts`` (in chunk order)."""
    import bm25s

    retriever = bm25s.BM25()
    retriever.index(_tokenize(texts, return_ids=True), show_progress=False)
    return retriever


def build_bm25(texts: list[str], folder: Path) -> None:
    """Index ``texts`` (in chunk order) and save the index to ``folder``."""
    index_bm25(texts).save(str(folder))


def load_bm25(folder: Path) -> bm25s.BM25:
    import bm25s

    return bm25s.BM25.load(str(folder))


def bm25_search(retriever: bm25s.BM25, query: str, n: int, size: int) -> list[int]:
    """Positions (in chunk order) of the ``n`` best BM25 matches with a positive score."""
    tokens = _tokenize([query], return_ids=False)
    if not tokens[0] or size == 0:
        return []
    docs, scores = retriever.retrieve(tokens, k=min(n, size), show_progress=False)
    return [int(d) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]
