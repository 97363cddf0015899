"""Question sets for ``askdef eval``: reading JSONL rows and finding each row's gold paragraph.

Question set: JSONL, one object a line (design §5)::

    {"id": str, "question": str, "answers": [str], "answerable": bool, "doc": str?, "quote": str?}

SQuAD-style rows are read too: ``{"id", "question", "answers", "relevant_ids": [...]}``, where a
relevant id names a document (a corpus file name, with or without its extension: any of its
paragraphs is gold) or one paragraph as ``doc#n``. ``answers`` may also be SQuAD's
``{"text": [...]}``, and a row without ``answerable`` is answerable when it has answers. Other
keys are ignored, blank lines too; a malformed line is reported as ``line N: why`` and the run
goes on without it.

The gold paragraph of a row is the paragraph of ``doc`` whose text contains ``quote`` (compared
with case, whitespace and typographic quotes folded); a ``doc`` without ``quote`` makes all its
paragraphs gold, a ``quote`` without ``doc`` is looked for in every document.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from askdef.errors import InputError
from askdef.ingest.loading import SUPPORTED_SUFFIXES, corpus_files, doc_id_of, load_document
from askdef.text import normalize
from askdef.types import Paragraph

if TYPE_CHECKING:
    pass


# --- question set ------------------------------------------------------------------------------


class Question(BaseModel):
    """One row of a question set."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    question: str = Field(min_length=1)
    answers: list[str] = Field(default_factory=list)
    answerable: bool
    doc: str | None = None
    quote: str | None = None
    relevant_ids: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _squad_shapes(cls, data: Any) -> Any:
        """Accept numeric ids, SQuAD's ``{"text": [...]}`` answers and a missing ``answerable``."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if isinstance(data.get("id"), int) and not isinstance(data["id"], bool):
            data["id"] = str(data["id"])
        if isinstance(data.get("answers"), dict) and "text" in data["answers"]:
            data["answers"] = data["answers"]["text"]
        if isinstance(data.get("question"), str):
            data["question"] = data["question"].strip()
        if "answerable" not in data:
            data["answerable"] = bool(data.get("answers"))
        return data


def parse_question(line: str) -> Question:
    """One JSONL line as a ``Question``; ``ValueError`` with a short reason if malformed."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    try:
        return Question.model_validate(data)
    except ValidationError as exc:
        reasons = "; ".join(
            f"{'.'.join(str(part) for part in e['loc']) or 'row'}: {e['msg']}" for e in exc.errors()
        )
        raise ValueError(reasons) from None


def load_questions(path: Path) -> tuple[list[Question], list[str]]:
    """The valid questions of a JSONL file, and a ``line N: why`` message per skipped line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"Question file {path} does not exist: check the path.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"Cannot read question file {path} ({exc}): save it as UTF-8.") from None
    questions: list[Question] = []
    skipped: list[str] = []
    seen: set[str] = set()
    for number, line in enumerate(text.split("\n"), start=1):  # JSON strings may hold U+2028
        if not line.strip():
            continue
        try:
            question = parse_question(line)
        except ValueError as exc:
            skipped.append(f"line {number}: {exc}")
            continue
        if question.id in seen:
            skipped.append(f"line {number}: duplicate id {question.id!r}")
            continue
        seen.add(question.id)
        questions.append(question)
    return questions, skipped


# --- answer metrics (SQuAD) --------------------------------------------------------------------


def doc_key(name: str) -> str:
    """A document name without a corpus file extension: ``a.txt`` and ``a`` are one document."""
    path = PurePosixPath(name)
    return str(path.with_suffix("")) if path.suffix.lower() in SUPPORTED_SUFFIXES else name


@dataclass(frozen=True)
class Gold:
    """Relevant paragraphs: ``(doc, n)`` pairs, and whole documents (any of their paragraphs).

    Document names match with or without a corpus file extension (``a.txt`` is ``a``).
    """

    paragraphs: frozenset[tuple[str, int]] = frozenset()
    docs: frozenset[str] = frozenset()

    @classmethod
    def of(cls, paragraphs: Iterable[tuple[str, int]] = (), docs: Iterable[str] = ()) -> Gold:
        """Gold from any iterables of pairs and document names."""
        return cls(frozenset(paragraphs), frozenset(docs))

    def matches(self, doc_id: str, paragraph: int) -> bool:
        """Whether paragraph ``paragraph`` of ``doc_id`` is gold."""
        key = doc_key(doc_id)
        return any(doc_key(d) == key for d in self.docs) or any(
            n == paragraph and doc_key(d) == key for d, n in self.paragraphs
        )

    @property
    def refs(self) -> list[str]:
        """Human labels: ``doc ¶n``, and ``doc ¶*`` for a whole document."""
        pairs = [f"{d} ¶{n}" for d, n in sorted(self.paragraphs)]
        return pairs + [f"{d} ¶*" for d in sorted(self.docs)]


class CorpusParagraphs:
    """The corpus's paragraphs as askdef splits them, read lazily, one document at a time."""

    def __init__(self, corpus_dir: Path) -> None:
        self._dir = corpus_dir
        self._files: dict[str, Path] | None = None
        self._cache: dict[str, list[Paragraph]] = {}

    def doc_ids(self) -> list[str]:
        """Every supported file of the corpus, as doc ids."""
        return sorted({doc_id_of(p, self._dir) for p in self._index().values()})

    def paragraphs(self, doc: str) -> list[Paragraph] | None:
        """Paragraphs of ``doc`` (a doc id, with or without extension), None if unknown."""
        path = self._index().get(doc) or self._index().get(doc_key(doc))
        if path is None:
            return None
        doc_id = doc_id_of(path, self._dir)
        if doc_id not in self._cache:
            self._cache[doc_id] = load_document(path, self._dir).paragraphs()
        return self._cache[doc_id]

    def _index(self) -> dict[str, Path]:
        if self._files is None:
            files = [
                p for p in corpus_files(self._dir).files if p.suffix.lower() in SUPPORTED_SUFFIXES
            ]
            self._files = {doc_key(doc_id_of(p, self._dir)): p for p in files}
            self._files.update({doc_id_of(p, self._dir): p for p in files})
        return self._files


def resolve_gold(question: Question, corpus: CorpusParagraphs) -> tuple[Gold | None, list[str]]:
    """The question's gold paragraphs (None when it names none), and notes on what failed."""
    if question.relevant_ids:
        pairs, docs = [], []
        for rid in question.relevant_ids:
            doc, _, n = rid.rpartition("#")
            if doc and n.isdigit():
                pairs.append((doc, int(n)))
            else:
                docs.append(rid)
        return Gold.of(pairs, docs), []
    if question.doc is None and question.quote is None:
        return None, []
    docs = [question.doc] if question.doc else corpus.doc_ids()
    found: list[tuple[str, int]] = []
    for doc in docs:
        paragraphs = corpus.paragraphs(doc)
        if paragraphs is None:
            return None, [f"document {doc!r} is not in the corpus"]
        if question.quote is None:
            return Gold.of(docs=[paragraphs[0].doc_id if paragraphs else doc]), []
        quote = normalize(question.quote)
        found += [(p.doc_id, p.n) for p in paragraphs if quote in normalize(p.text)]
    if not found:
        return None, [f"quote not found in {question.doc or 'the corpus'}: {question.quote!r}"]
    return Gold.of(found), []


# --- rows and the report -----------------------------------------------------------------------
