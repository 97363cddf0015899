"""The data askdef hands out: paragraphs, passages and ingest reports."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Paragraph(_Frozen):
    """One citable paragraph of a document; ``original[start:end] == text``."""

    doc_id: str = Field(description="Path relative to the corpus folder, POSIX separators.")
    n: int = Field(description="1-based position among the document's kept paragraphs.")
    section: str | None = Field(description="Nearest title line above the paragraph.")
    text: str
    start: int = Field(description="Character offset of the paragraph in the document text.")
    end: int

    @property
    def ref(self) -> str:
        """Human citation label, e.g. ``article.txt ¶7``."""
        return f"{self.doc_id} ¶{self.n}"


class Passage(_Frozen):
    """A retrieved paragraph with its fused retrieval score (higher is better)."""

    doc_id: str
    paragraph: int
    text: str
    score: float
    start: int
    end: int
    section: str | None = None

    @property
    def ref(self) -> str:
        """Human citation label, e.g. ``article.txt ¶7``."""
        return f"{self.doc_id} ¶{self.paragraph}"


class SkippedFile(_Frozen):
    """A corpus file that was not indexed, and why."""

    doc_id: str
    reason: str


class IngestReport(_Frozen):
    """What one ``ingest()`` changed."""

    added: list[str] = Field(default_factory=list)
    updated: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    unchanged: list[str] = Field(default_factory=list)
    skipped: list[SkippedFile] = Field(default_factory=list)
    chunks: int = Field(default=0, description="Chunks in the index after the run.")
    embedded: int = Field(default=0, description="Chunks embedded by this run.")
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        """Whether the run wrote a new index generation."""
        return bool(self.added or self.updated or self.removed)
