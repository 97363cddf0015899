"""Question sets for ``askdef eval``: reading JSONL rows and finding each row's gold paragraph.

Question set: JSONL, one object a line (docs/usage.md#askdef-eval)::

    {"id": str, "question": str, "answers": [str], "answerable": bool, "doc": str?, "quote": str?}

SQuAD-style rows are read too: ``{"id", "question", "answers", "relevant_ids": [...]}``, where a
relevant id names a document (a corpus file name, with or without its extension: any of its
paragraphs is gold) or one paragraph as ``doc#n``. ``answers`` may also be SQuAD's
``{"text": [...]}``, and a row without ``answerable`` is answerable when it has answers. Other
keys are ignored, blank lines too; a malformed line is reported as ``line N: why`` and the run
goes on without it.

A conversation is one line too, its turns asked in order, each with the turns before it as
history (the questions, and the answers askdef gave)::

    {"id": str, "corpus": str?, "turns": [{"question": ..., "follow_up": str?, ...}, ...]}

A turn takes a question row's keys (not ``id``); it becomes the question ``<id>/<n>`` (n from
1), and ``follow_up`` names what kind of follow-up it is (``pronoun``, ``ellipsis``, ``switch``,
``unanswerable``: free text, reported apart). ``corpus`` is the folder the conversation is
about, relative to the question file: ``askdef eval`` scores only the conversations about the
corpus it searches (see ``for_corpus``), so one file can hold conversations on several.

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
    conversation: str | None = Field(default=None, description="The conversation's id.")
    turn: int = Field(default=1, ge=1, description="Its place in the conversation, from 1.")
    follow_up: str | None = Field(default=None, description="A later turn's kind of follow-up.")
    corpus: str | None = Field(default=None, description="The conversation's corpus folder.")

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


def parse_line(line: str) -> list[Question]:
    """One JSONL line as its questions: one, or a conversation's turns in order;
    ``ValueError`` with a short reason if malformed."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    try:
        if "turns" not in data:
            return [Question.model_validate(data)]
        return Conversation.model_validate(data).questions()
    except ValidationError as exc:
        reasons = "; ".join(
            f"{'.'.join(str(part) for part in e['loc']) or 'row'}: {e['msg']}" for e in exc.errors()
        )
        raise ValueError(reasons) from None


class Conversation(BaseModel):
    """One line of turns asked in order (see the module docstring)."""

    model_config = ConfigDict(extra="ignore")

    id: str
    corpus: str | None = None
    turns: list[dict[str, Any]] = Field(min_length=1)

    def questions(self) -> list[Question]:
        """Each turn as a ``Question`` named ``<id>/<n>``; a turn's own ``id`` is ignored."""
        return [
            Question.model_validate(
                {
                    **turn,
                    "id": f"{self.id}/{n}",
                    "conversation": self.id,
                    "turn": n,
                    "follow_up": turn.get("follow_up", "follow-up") if n > 1 else None,
                    "corpus": self.corpus,
                }
            )
            for n, turn in enumerate(self.turns, start=1)
        ]


def for_corpus(
    questions: list[Question], questions_path: Path, corpus_dir: Path
) -> tuple[list[Question], list[str]]:
    """The questions about ``corpus_dir`` (those naming no corpus too), and a line per other
    corpus saying how many conversations were left out and how to score them."""
    kept: list[Question] = []
    others: dict[str, set[str]] = {}
    here = corpus_dir.resolve()
    for question in questions:
        if question.corpus is None or (questions_path.parent / question.corpus).resolve() == here:
            kept.append(question)
        else:
            others.setdefault(question.corpus, set()).add(question.conversation or question.id)
    notes = [
        f"{len(ids)} conversations about the corpus {corpus} (not the one searched, {corpus_dir}): "
        f"index it and run with ASKDEF_CORPUS_DIR={(questions_path.parent / corpus).resolve()}"
        for corpus, ids in sorted(others.items())
    ]
    return kept, notes


def load_questions(path: Path) -> tuple[list[Question], list[str]]:
    """The valid questions of a JSONL file (a conversation's turns in order), and a ``line N:
    why`` message per skipped line."""
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
            parsed = parse_line(line)
        except ValueError as exc:
            skipped.append(f"line {number}: {exc}")
            continue
        duplicate = next((q.id for q in parsed if q.id in seen), None)
        if duplicate is not None:
            skipped.append(f"line {number}: duplicate id {duplicate!r}")
            continue
        seen.update(q.id for q in parsed)
        questions += parsed
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
        found += [(p.doc_id, p.paragraph) for p in paragraphs if quote in normalize(p.text)]
    if not found:
        return None, [f"quote not found in {question.doc or 'the corpus'}: {question.quote!r}"]
    return Gold.of(found), []


# --- rows and the report -----------------------------------------------------------------------
