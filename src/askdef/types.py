"""The data askdef hands out: paragraphs, passages and ingest reports."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


def label(doc_id: str, page: int | None, paragraph: int) -> str:
    """How a paragraph is cited: ``article.txt ¶7``, or ``report.pdf p. 4 ¶12`` with a page."""
    return f"{doc_id} p. {page} ¶{paragraph}" if page is not None else f"{doc_id} ¶{paragraph}"


class Paragraph(_Frozen):
    """One citable paragraph of a document; ``original[start:end] == text``."""

    doc_id: str = Field(description="Path relative to the corpus folder, POSIX separators.")
    paragraph: int = Field(description="1-based position among the document's kept paragraphs.")
    section: str | None = Field(description="Nearest title line above the paragraph.")
    text: str
    start: int = Field(description="Character offset of the paragraph in the document text.")
    end: int
    page: int | None = Field(
        default=None, description="PDF page (from 1) the paragraph starts on; None without pages."
    )

    @property
    def ref(self) -> str:
        """Human citation label, e.g. ``article.txt ¶7``, ``report.pdf p. 4 ¶12``."""
        return label(self.doc_id, self.page, self.paragraph)


class Passage(_Frozen):
    """A retrieved paragraph with its score (higher is better): its best sentence's relevance
    to the question, or the fused retrieval score when ``rerank_pool`` is 0."""

    doc_id: str
    paragraph: int
    text: str
    score: float
    start: int
    end: int
    section: str | None = None
    page: int | None = Field(
        default=None, description="PDF page (from 1) the paragraph starts on; None without pages."
    )

    @property
    def ref(self) -> str:
        """Human citation label, e.g. ``article.txt ¶7``, ``report.pdf p. 4 ¶12``."""
        return label(self.doc_id, self.page, self.paragraph)


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
    repaired: str | None = Field(
        default=None,
        description="What was damaged when the live index failed its check and was rebuilt.",
    )
    seconds: float = 0.0


class Citation(_Frozen):
    """A verified citation: marker ``[n]`` in the answer text, and the words that support it."""

    n: int = Field(description="The marker number in Answer.text.")
    doc_id: str
    paragraph: int
    quote: str = Field(description="Verbatim words of the paragraph that support the sentence.")
    start: int = Field(description="Offset of the quote in the document text.")
    end: int
    page: int | None = Field(
        default=None,
        description="PDF page (from 1) the cited paragraph starts on; None for formats "
        "without pages.",
    )

    @property
    def ref(self) -> str:
        """Human citation label, e.g. ``article.txt ¶7``, ``report.pdf p. 4 ¶12``."""
        return label(self.doc_id, self.page, self.paragraph)

    def overlaps(self, doc_id: str, start: int, end: int) -> bool:
        """Whether the quote shares a character with ``doc_id``'s text from ``start`` to ``end``."""
        return self.doc_id == doc_id and self.start < end and start < self.end


class Timings(_Frozen):
    """Seconds spent on each stage of one answer."""

    retrieval: float = 0.0
    first_token: float | None = Field(
        default=None, description="From the question to the first generated text."
    )
    first_shown: float | None = Field(
        default=None,
        description="From the question to the first text streamed (a Delta): the first "
        "sentence whose citations checked out, or the refusal; None when nothing streamed.",
    )
    total: float = 0.0
    judge: float = Field(
        default=0.0,
        description="Of the total, the entailment judge's share (askdef.answer.citations).",
    )


class Answer(_Frozen):
    """A grounded answer: text with ``[n]`` markers, each resolved in ``citations``."""

    question: str
    text: str
    short: str | None = Field(
        default=None,
        description="For a question asking for a time or a number: that time or number, as a "
        'cited quote writes it ("March"); None otherwise.',
    )
    citations: list[Citation] = Field(default_factory=list)
    passages: list[Passage] = Field(default_factory=list)
    refused: bool = Field(
        default=False, description="True when the documents do not hold the answer."
    )
    generator: str = Field(description="Which generator wrote the text: openai, local, extractive.")
    model: str = ""
    query: str = Field(default="", description="The standalone query that was searched.")
    dropped_citations: int = Field(
        default=0, description="Markers removed because their source did not support them."
    )
    notices: list[str] = Field(
        default_factory=list, description="What the user should know, e.g. a fallback."
    )
    answerability: float | None = Field(
        default=None,
        description="The judge's probability that the verified quotes answer the question "
        "(refused below Settings.answer_threshold); None when nothing was judged.",
    )
    replaces_stream: bool = Field(
        default=False,
        description="True when the text streamed in Delta events (since the last Fallback) "
        "is not the start of this answer's text: it was refused after its first sentences "
        "were shown. Show this answer instead of what streamed.",
    )
    timings: Timings = Field(default_factory=Timings)


class Retrieved(_Frozen):
    """Stream event: retrieval finished; these passages will be cited as [1], [2], ..."""

    query: str
    passages: list[Passage]


class Delta(_Frozen):
    """Stream event: more of the answer's text, one or more sentences whose citations checked
    out, with their markers as the final Answer shows them; a removed sentence never streams.
    The Deltas since the last Fallback add up to the Answer's text, unless
    ``Answer.replaces_stream``."""

    text: str


class Fallback(_Frozen):
    """Stream event: text streamed so far is void and another generator answers (the first one
    failed, or gave no answer the documents back)."""

    reason: str
    generator: str


StreamEvent = Retrieved | Delta | Fallback | Answer
