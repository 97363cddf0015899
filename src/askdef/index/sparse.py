"""The lexical side of the index: BM25 (bm25s) over ``askdef.text.terms``, the same stemmed
content words the rerank and the verifier compare."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import bm25s


_NO_TERMS = "\x00"  # stands for a corpus with no content words at all ("The of and.")


def _tokenize(texts: list[str]) -> list[list[str]]:
    from askdef.text import terms

    return [terms(text) for text in texts]


def index_bm25(texts: list[str]) -> bm25s.BM25:
    """An in-memory BM25 index of ``texts`` (in chunk order)."""
    import bm25s

    retriever = bm25s.BM25()
    tokens = _tokenize(texts)
    if not any(tokens):  # bm25s cannot build an empty vocabulary: one word no query yields
        tokens = [[_NO_TERMS]] * len(texts)
    retriever.index(tokens, show_progress=False)
    return retriever


def build_bm25(texts: list[str], folder: Path) -> None:
    """Index ``texts`` (in chunk order) and save the index to ``folder``."""
    index_bm25(texts).save(str(folder))


def load_bm25(folder: Path) -> bm25s.BM25:
    import bm25s

    return bm25s.BM25.load(str(folder))


def bm25_search(retriever: bm25s.BM25, query: str, n: int, size: int) -> list[int]:
    """Positions (in chunk order) of the ``n`` best BM25 matches with a positive score."""
    tokens = _tokenize([query])
    if not tokens[0] or size == 0:
        return []
    docs, scores = retriever.retrieve(tokens, k=min(n, size), show_progress=False)
    return [int(d) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]
