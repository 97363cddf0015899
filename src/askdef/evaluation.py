"""Evaluation: run a question set through askdef and measure its answers, retrieval and citations.

Question set: JSONL, one object a line (design §5)::

    {"id": str, "question": str, "answers": [str], "answerable": bool, "doc": str?, "quote": str?}

SQuAD-style rows are read too: ``{"id", "question", "answers", "relevant_ids": [...]}``, where a
relevant id names a document (a corpus file name, with or without its extension: any of its
paragraphs is gold) or one paragraph as ``doc#n``. ``answers`` may also be SQuAD's
``{"text": [...]}``, and a row without ``answerable`` is answerable when it has answers. Other
keys are ignored, blank lines too; a malformed line is reported as ``line N: why`` in
``EvalReport.skipped_lines`` and the run goes on without it.

The gold paragraph of a row is the paragraph of ``doc`` whose text contains ``quote`` (compared
with case, whitespace and typographic quotes folded); a ``doc`` without ``quote`` makes all its
paragraphs gold, a ``quote`` without ``doc`` is looked for in every document.

Metrics, per question in ``EvalRow`` and aggregated in ``EvalReport.metrics`` (a metric no
question applies to is left out):

- ``answer_coverage``: share of ``answers`` whose normalised form occurs, as whole words, in the
  normalised answer text; mean over answerable questions.
- ``exact_match`` / ``f1``: SQuAD v1.1 exact match and token F1 of the answer text (citation
  markers removed) against each of ``answers``, the best kept; mean over answerable questions.
  Normalisation: lowercase, punctuation dropped, articles a/an/the dropped, spaces collapsed.
- ``hit@k`` / ``mrr``: whether a gold paragraph is among ``bot.search(question, k=k)``, and
  1/rank of the first one (0 when none is); mean over questions with a gold paragraph.
- ``citation_recall``: 1 when a gold paragraph is among the answer's citations, else 0; mean
  over answerable questions with a gold paragraph.
- ``citation_precision``: over every (sentence, marker) pair of the shown answers, the share
  whose cited paragraph *supports* the sentence, pooled over all questions. A paragraph supports
  a sentence exactly when ``askdef.citations.best_support(sentence, paragraph_text).score >=
  askdef.citations.SUPPORT``, the same test the verifier applies: the sentence is the answer
  sentence carrying the marker, markers removed; the paragraph text is the cited passage as the
  generator saw it (``Answer.passages``). A marker that resolves to no passage supports nothing.
- ``dropped_citations``: markers the verifier removed as unverifiable
  (``Answer.dropped_citations``), summed over all questions.
- ``refusal_accuracy``: share of ``answerable: false`` questions refused;
  ``false_refusal_rate``: share of answerable questions refused.
- ``latency_p50`` / ``latency_p95``: seconds per ``bot.ask`` call; ``search_latency_p50``:
  seconds per ``bot.search`` call (models are loaded before the clock starts).
- ``pass_rate``: share of questions passing every check; ``errors``: questions whose ask failed.

Checks, per question: answerable ones must be ``answered`` (not refused), reach full
``coverage``, ``retrieved`` (gold in the top k) and ``cites_gold``; unanswerable ones must be
``refused``; any answer with markers must have ``citations_supported`` (precision 1).
"""

from __future__ import annotations

import json
import re
import string
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, computed_field, model_validator

from askdef._version import __version__
from askdef.citations import MARKERS, SUPPORT, best_support, sentences_with_markers
from askdef.errors import InputError, ModelError
from askdef.loading import SUPPORTED_SUFFIXES, corpus_files, doc_id_of, load_document
from askdef.paragraphs import split_paragraphs
from askdef.text import normalize
from askdef.types import Answer, Citation, Paragraph, Passage

if TYPE_CHECKING:
    from askdef.api import AskDef
    from askdef.settings import Settings

_ARTICLES = re.compile(r"\b(?:a|an|the)\b")
_PUNCTUATION = frozenset(string.punctuation)


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


def strip_markers(text: str) -> str:
    """``text`` without its ``[n]`` citation markers."""
    return MARKERS.sub("", text)


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lowercase, drop punctuation and a/an/the, collapse spaces."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = "".join(
        ch for ch in text if ch not in _PUNCTUATION and not unicodedata.category(ch).startswith("P")
    )
    return " ".join(_ARTICLES.sub(" ", text).split())


def _token_f1(prediction: list[str], gold: list[str]) -> float:
    if not prediction or not gold:
        return float(prediction == gold)
    same = sum((Counter(prediction) & Counter(gold)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(prediction), same / len(gold)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, answers: Sequence[str]) -> float | None:
    """1.0 when the normalised prediction equals a normalised answer; None without answers."""
    if not answers:
        return None
    guess = normalize_answer(prediction)
    return max(float(guess == normalize_answer(a)) for a in answers)


def f1_score(prediction: str, answers: Sequence[str]) -> float | None:
    """SQuAD token F1, the best over ``answers``; None without answers."""
    if not answers:
        return None
    tokens = normalize_answer(prediction).split()
    return max(_token_f1(tokens, normalize_answer(a).split()) for a in answers)


def answer_coverage(prediction: str, answers: Sequence[str]) -> float | None:
    """Share of ``answers`` present as whole words in the prediction (both normalised)."""
    wanted = [f" {n} " for n in (normalize_answer(a) for a in answers) if n]
    if not wanted:
        return None
    text = f" {normalize_answer(prediction)} "
    return sum(w in text for w in wanted) / len(wanted)


# --- retrieval and citation metrics ------------------------------------------------------------


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


def reciprocal_rank(ranked: Sequence[tuple[str, int]], gold: Gold, k: int) -> float:
    """1/rank of the first gold ``(doc_id, paragraph)`` among the first ``k``, else 0."""
    for rank, (doc_id, paragraph) in enumerate(ranked[:k], start=1):
        if gold.matches(doc_id, paragraph):
            return 1.0 / rank
    return 0.0


def hit_at_k(ranked: Sequence[tuple[str, int]], gold: Gold, k: int) -> bool:
    """Whether a gold paragraph is among the first ``k``."""
    return reciprocal_rank(ranked, gold, k) > 0


def citation_recall(citations: Sequence[Citation], gold: Gold) -> float:
    """1.0 when some citation points at a gold paragraph, else 0.0."""
    return float(any(gold.matches(c.doc_id, c.paragraph) for c in citations))


def supports(claim: str, paragraph: str) -> bool:
    """The verifier's notion: a one- or two-sentence span covers ``SUPPORT`` of the claim."""
    return best_support(claim, paragraph).score >= SUPPORT


def citation_support(answer: Answer) -> tuple[int, int]:
    """(supported, checked) over the answer's (sentence, marker) pairs; see ``supports``."""
    texts = {(p.doc_id, p.paragraph): p.text for p in answer.passages}
    cited = {c.n: (c.doc_id, c.paragraph) for c in answer.citations}
    supported = checked = 0
    for claim, markers in sentences_with_markers(answer.text):
        for n in dict.fromkeys(markers):
            checked += 1
            key = cited.get(n)
            text = texts.get(key, "") if key else ""
            supported += bool(text) and supports(claim, text)
    return supported, checked


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) by linear interpolation between closest ranks."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def refusal_accuracy(outcomes: Iterable[tuple[bool, bool]]) -> float | None:
    """Share of unanswerable questions refused, from ``(answerable, refused)`` pairs."""
    refused = [r for answerable, r in outcomes if not answerable]
    return sum(refused) / len(refused) if refused else None


def false_refusal_rate(outcomes: Iterable[tuple[bool, bool]]) -> float | None:
    """Share of answerable questions refused, from ``(answerable, refused)`` pairs."""
    refused = [r for answerable, r in outcomes if answerable]
    return sum(refused) / len(refused) if refused else None


# --- gold paragraphs from the corpus -----------------------------------------------------------


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
            document = load_document(path, self._dir)
            self._cache[doc_id] = split_paragraphs(doc_id, document.text)
        return self._cache[doc_id]

    def _index(self) -> dict[str, Path]:
        if self._files is None:
            files = [p for p in corpus_files(self._dir) if p.suffix.lower() in SUPPORTED_SUFFIXES]
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


class EvalRow(BaseModel):
    """One question's outcome: the answer, each metric (None: not applicable) and each check."""

    id: str
    question: str
    answerable: bool
    answers: list[str] = Field(default_factory=list)
    answer: str = ""
    citations: list[str] = Field(default_factory=list, description="Cited paragraphs, as refs.")
    refused: bool = False
    generator: str = ""
    gold: list[str] = Field(default_factory=list, description="Gold paragraphs, as refs.")
    retrieved: list[str] = Field(default_factory=list, description="Top-k search hits, as refs.")
    exact_match: float | None = None
    f1: float | None = None
    coverage: float | None = None
    hit: bool | None = None
    reciprocal_rank: float | None = None
    citation_recall: float | None = None
    citation_precision: float | None = None
    citations_checked: int = 0
    citations_supported: int = 0
    dropped_citations: int = 0
    latency: float = Field(default=0.0, description="Seconds for bot.ask.")
    search_latency: float = Field(default=0.0, description="Seconds for bot.search.")
    checks: dict[str, bool] = Field(default_factory=dict)
    error: str | None = None
    notes: list[str] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def passed(self) -> bool:
        """Every check passed and nothing failed."""
        return self.error is None and all(self.checks.values())


class EvalReport(BaseModel):
    """A whole run: per-question rows, aggregate metrics, and what was skipped."""

    rows: list[EvalRow]
    metrics: dict[str, float]
    skipped_lines: list[str] = Field(default_factory=list)
    generator: str
    model: str = ""
    settings: dict[str, Any] = Field(default_factory=dict)
    questions_path: str = ""
    k: int = 5

    @property
    def failures(self) -> list[EvalRow]:
        """Rows that failed a check, in question order."""
        return [r for r in self.rows if not r.passed]


def row_checks(row: EvalRow) -> dict[str, bool]:
    """Pass/fail per applicable check (see the module docstring)."""
    checks: dict[str, bool] = {}
    if row.answerable:
        checks["answered"] = not row.refused
        if row.coverage is not None:
            checks["coverage"] = row.coverage == 1.0
        if row.hit is not None:
            checks["retrieved"] = row.hit
        if row.citation_recall is not None:
            checks["cites_gold"] = row.citation_recall == 1.0
    else:
        checks["refused"] = row.refused
    if row.citation_precision is not None:
        checks["citations_supported"] = row.citation_precision == 1.0
    return checks


def score_row(
    question: Question,
    gold: Gold | None,
    hits: Sequence[Passage],
    answer: Answer,
    *,
    k: int,
    latency: float = 0.0,
    search_latency: float = 0.0,
) -> EvalRow:
    """Every metric and check of one answered question."""
    text = strip_markers(answer.text)
    ranked = [(p.doc_id, p.paragraph) for p in hits]
    supported, checked = citation_support(answer)
    answerable = question.answerable
    row = EvalRow(
        id=question.id,
        question=question.question,
        answerable=answerable,
        answers=question.answers,
        answer=answer.text,
        citations=list(dict.fromkeys(c.ref for c in answer.citations)),
        refused=answer.refused,
        generator=answer.generator,
        gold=gold.refs if gold else [],
        retrieved=[p.ref for p in hits],
        exact_match=exact_match(text, question.answers) if answerable else None,
        f1=f1_score(text, question.answers) if answerable else None,
        coverage=answer_coverage(text, question.answers) if answerable else None,
        hit=hit_at_k(ranked, gold, k) if gold else None,
        reciprocal_rank=reciprocal_rank(ranked, gold, k) if gold else None,
        citation_recall=citation_recall(answer.citations, gold) if gold and answerable else None,
        citation_precision=supported / checked if checked else None,
        citations_checked=checked,
        citations_supported=supported,
        dropped_citations=answer.dropped_citations,
        latency=latency,
        search_latency=search_latency,
    )
    row.checks = row_checks(row)
    return row


def _mean(values: Iterable[float | bool | None]) -> float | None:
    present = [float(v) for v in values if v is not None]
    return sum(present) / len(present) if present else None


def aggregate(rows: Sequence[EvalRow], *, k: int) -> dict[str, float]:
    """The run's metrics (see the module docstring); inapplicable ones are left out."""
    ok = [r for r in rows if r.error is None]
    answerable = [r for r in ok if r.answerable]
    outcomes = [(r.answerable, r.refused) for r in ok]
    checked = sum(r.citations_checked for r in ok)
    latencies = [r.latency for r in ok]
    values: dict[str, float | None] = {
        "answer_coverage": _mean(r.coverage for r in answerable),
        "exact_match": _mean(r.exact_match for r in answerable),
        "f1": _mean(r.f1 for r in answerable),
        f"hit@{k}": _mean(r.hit for r in ok),
        "mrr": _mean(r.reciprocal_rank for r in ok),
        "citation_recall": _mean(r.citation_recall for r in answerable),
        "citation_precision": sum(r.citations_supported for r in ok) / checked if checked else None,
        "dropped_citations": float(sum(r.dropped_citations for r in ok)),
        "refusal_accuracy": refusal_accuracy(outcomes),
        "false_refusal_rate": false_refusal_rate(outcomes),
        "pass_rate": _mean(r.passed for r in rows),
        "latency_p50": percentile(latencies, 50) if latencies else None,
        "latency_p95": percentile(latencies, 95) if latencies else None,
        "search_latency_p50": percentile([r.search_latency for r in ok], 50) if ok else None,
        "errors": float(len(rows) - len(ok)),
    }
    return {name: value for name, value in values.items() if value is not None}


def settings_summary(settings: Settings, *, k: int, model: str) -> dict[str, Any]:
    """The settings that shape a run's results, for the report's header."""
    return {
        "askdef": __version__,
        "generator": settings.generator,
        "model": model,
        "embed_model": settings.embed_model,
        "chunk_size": settings.chunk_size,
        "chunk_overlap": settings.chunk_overlap,
        "candidates": settings.candidates,
        "rrf_k": settings.rrf_k,
        "context_passages": settings.context_passages,
        "k": k,
        "corpus_dir": str(settings.corpus_dir),
        "index_dir": str(settings.index_dir),
    }


def evaluate_question(
    bot: AskDef, question: Question, corpus: CorpusParagraphs, *, k: int
) -> EvalRow:
    """Search and ask one question, then score it; a failed ask becomes a failed row."""
    gold, notes = resolve_gold(question, corpus)
    try:
        started = time.perf_counter()
        hits = bot.search(question.question, k=k)
        searched = time.perf_counter()
        answer = bot.ask(question.question)
        answered = time.perf_counter()
    except (InputError, ModelError) as exc:
        row = EvalRow(
            id=question.id,
            question=question.question,
            answerable=question.answerable,
            answers=question.answers,
            gold=gold.refs if gold else [],
            error=str(exc),
            notes=notes,
        )
        row.checks = {"no_error": False}
        return row
    row = score_row(
        question,
        gold,
        hits,
        answer,
        k=k,
        latency=answered - searched,
        search_latency=searched - started,
    )
    row.notes = notes + answer.notices
    return row


def evaluate(
    bot: AskDef, questions_path: str | Path, *, progress: bool = True, k: int = 5
) -> EvalReport:
    """Run every question of ``questions_path`` through ``bot`` and measure the answers.

    Each question is searched (``bot.search(question, k=k)``, for hit@k and MRR) and asked
    (``bot.ask(question)``, for everything else); ``progress`` shows a tqdm bar on stderr when
    it is a terminal. Raises ``InputError`` when the file is missing or holds no valid question;
    malformed lines are skipped and listed in ``EvalReport.skipped_lines``; a question whose
    ask fails with ``InputError``/``ModelError`` becomes a failed row with ``error`` set. Index
    errors propagate as ``bot.search`` raises them.
    """
    from tqdm import tqdm

    path = Path(questions_path)
    questions, skipped = load_questions(path)
    if not questions:
        why = f" ({len(skipped)} malformed lines; first: {skipped[0]})" if skipped else ""
        raise InputError(f"Question file {path} holds no valid question{why}.")
    generator = bot.generator  # load the models before the clock starts
    bot.search("warm up", k=1)
    corpus = CorpusParagraphs(bot.settings.corpus_dir)
    bar = tqdm(
        questions, desc="eval", unit="q", file=sys.stderr, disable=None if progress else True
    )
    rows = [evaluate_question(bot, q, corpus, k=k) for q in bar]
    return EvalReport(
        rows=rows,
        metrics=aggregate(rows, k=k),
        skipped_lines=skipped,
        generator=generator.name,
        model=generator.model,
        settings=settings_summary(bot.settings, k=k, model=generator.model),
        questions_path=str(path),
        k=k,
    )
