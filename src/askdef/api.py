"""``AskDef``: the one entry class other tools embed."""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from askdef.answer.generation import Generator, make_generator, make_judge
from askdef.answer.pipeline import stream_answer
from askdef.answer.relevance import Scorer, rerank
from askdef.errors import (
    CorpusNotFoundError,
    EmptyQuestionError,
    InvalidTextError,
    QuestionTooLongError,
)
from askdef.index.backend import Manifest
from askdef.index.embedding import Embedder, load_embedder
from askdef.index.retrieval import Snapshot
from askdef.index.store import open_backend
from askdef.ingest.pipeline import ProgressFactory, ingest
from askdef.settings import GeneratorChoice, Settings
from askdef.types import Answer, IngestReport, Paragraph, Passage, StreamEvent

if TYPE_CHECKING:
    from askdef.answer.entailment import Judge
    from askdef.eval.evaluation import EvalReport

# Lone surrogates (a str holds them, UTF-8 cannot encode them: the embedder fails) and the
# control characters (category Cc) but tab, newline and carriage return, which are not text.
_INVALID_CHARACTER = re.compile(r"[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_ROLES = ("user", "assistant", "system")


class AskDef:
    """Question answering over a folder of documents, with paragraph-level citations.

    >>> bot = AskDef(corpus_dir="corpus", index_dir="index")
    >>> bot.ingest()                      # doctest: +SKIP
    >>> bot.search("Which firms explore partnerships?", k=3)  # doctest: +SKIP
    """

    def __init__(
        self,
        corpus_dir: str | Path | None = None,
        index_dir: str | Path | None = None,
        *,
        settings: Settings | None = None,
        generator: Generator | GeneratorChoice | None = None,
        judge: Judge | None = None,
    ) -> None:
        """``settings`` default to the environment's (``ASKDEF_*``); ``corpus_dir`` and
        ``index_dir`` override theirs. ``generator`` is a ``Generator``, or the name of one as
        ``--generator`` takes it (``extractive``, ``local``, ``openai``, ``auto``); ``judge``
        replaces the one ``ASKDEF_JUDGE`` names."""
        base = settings or Settings()
        if isinstance(generator, str):  # a name, as ``--generator`` and ASKDEF_GENERATOR take
            base = Settings(**{**base.model_dump(), "generator": generator})
            generator = None
        update: dict[str, Path] = {}
        if corpus_dir is not None:
            update["corpus_dir"] = Path(corpus_dir)
        if index_dir is not None:
            update["index_dir"] = Path(index_dir)
        self.settings: Settings = base.model_copy(update=update)
        self._index = open_backend(self.settings)
        self._snapshot: Snapshot | None = None
        self._generator = generator
        if judge is not None:
            self.judge = judge
        self._scorer: Scorer | None = None
        self._lock = threading.Lock()

    @property
    def embedder(self) -> Embedder:
        """The embedding model, loaded on first use and shared by the whole process."""
        s = self.settings
        return load_embedder(s.embed_model, s.embed_backend, s.cache_dir)

    def ingest(
        self, *, rebuild: bool = False, progress: ProgressFactory | None = None
    ) -> IngestReport:
        """Index new and changed corpus files, drop deleted ones; ``rebuild`` starts afresh.

        Raises ``IndexLockedError`` while another process writes, ``IndexMismatchError`` when
        the index was built with other settings (pass ``rebuild=True``), ``CorpusError`` for a
        missing or empty corpus. Unreadable files are listed in ``IngestReport.skipped``.
        """
        return ingest(self.settings, lambda: self.embedder, rebuild=rebuild, progress=progress)

    def search(self, question: str, k: int | None = None) -> list[Passage]:
        """The ``k`` paragraphs that best match ``question``, best first.

        Dense and BM25 results are fused, then the best ``rerank_pool`` of them re-ordered by
        their best sentence (see ``askdef.answer.relevance.rerank``). Raises ``InputError`` for an
        empty or too long question, or one with a character no model can read.
        """
        return self._search(self._check_question(question), k or self.settings.top_k)

    def _search(self, query: str, k: int) -> list[Passage]:
        """``search`` without the checks of what a user typed: ``stream`` searches with the
        condensed query it wrote itself (bounded by ``stream_answer``)."""
        snapshot = self._live_snapshot()
        pool = self.settings.rerank_pool
        found = snapshot.search(
            query,
            self.embedder,
            k=max(k, pool),
            candidates=self.settings.candidates,
            rrf_k=self.settings.rrf_k,
        )
        return rerank(self._scorer_of(snapshot), query, found)[:k] if pool else found[:k]

    @property
    def generator(self) -> Generator:
        """The answer generator the settings choose (created, and its model loaded, once)."""
        if self._generator is None:
            scorer = self._scorer_of(self._live_snapshot())
            self._generator = make_generator(self.settings, scorer)
        return self._generator

    @functools.cached_property
    def judge(self) -> Judge | None:
        """The judge of sentences that are not word-for-word copies and of whether an answer
        answers the question (``Settings.judge``, or the one given); its model loads when it
        first judges. None: only copies pass, and answers are not judged."""
        return make_judge(self.settings, self.generator.name)

    def stream(
        self, question: str, history: list[dict[str, str]] | None = None
    ) -> Iterator[StreamEvent]:
        """Answer ``question`` as events: ``Retrieved``, text ``Delta``s, then the ``Answer``.

        ``history`` is the conversation so far as ``{"role", "content"}`` messages; a follow-up
        is condensed into a standalone search query. Deltas are the answer's sentences, each
        once its citations check out (a removed one never streams), and add up to the final
        ``Answer``'s text unless ``Answer.replaces_stream`` (refused after they streamed). A
        ``Fallback`` event voids the text so far: the extractive generator answers instead
        (the LLM failed, or gave no answer the documents back while one of their sentences
        fits the question).

        Before any model runs, raises ``InputError`` for an empty or too long question, or an
        invalid character in it or in a history message. Only the question has a length limit:
        the condensed query is cut to its last ``max_question_chars`` characters instead.
        """
        text = self._check_question(question)
        history = self._check_history(history or [])
        from askdef.answer.extractive import ExtractiveGenerator

        generator = self.generator
        snapshot = self._live_snapshot()
        scorer = self._scorer_of(snapshot)
        fallback = (
            ExtractiveGenerator(scorer, passages=self.settings.context_passages)
            if self.settings.fallback and generator.name != "extractive"
            else None
        )
        return stream_answer(
            text,
            history,
            search=lambda query: self._search(query, self.settings.context_passages),
            max_query_chars=self.settings.max_question_chars,
            generator=generator,
            fallback=fallback,
            vocabulary=snapshot.vocabulary,
            judge=self.judge,
            threshold=self.settings.entailment_threshold,
            answer_threshold=self.settings.answer_threshold,
        )

    def ask(self, question: str, history: list[dict[str, str]] | None = None) -> Answer:
        """Answer ``question`` from the documents; see ``stream`` for ``history``."""
        for event in self.stream(question, history):
            if isinstance(event, Answer):
                return event
        raise AssertionError("stream() always ends with an Answer")

    def evaluate(
        self, questions: str | Path, *, progress: bool = True, k: int = 5, grader: str = "auto"
    ) -> EvalReport:
        """Score answers and retrieval on a JSONL question set; ``grader`` (local, openai,
        none, auto) is the LLM that grades citation precision, not ``judge``. See
        ``askdef.eval.evaluation``."""
        from askdef.eval.evaluation import evaluate

        return evaluate(self, Path(questions), progress=progress, k=k, grader=grader)

    def check(self) -> Manifest:
        """Open the live index, checking that its parts agree (see ``askdef.index.check``);
        its manifest. Raises ``IndexCorruptError`` naming each damaged part (``askdef index``
        repairs it), ``IndexMissingError`` before the first ingest."""
        return self._live_snapshot().manifest

    def paragraph(self, doc_id: str, n: int) -> Paragraph:
        """Paragraph ``n`` (from 1) of ``doc_id`` as indexed; ``KeyError`` if there is none."""
        return self._live_snapshot().paragraph(doc_id, n)

    def documents(self) -> list[str]:
        """The ids of the indexed documents, sorted."""
        return sorted(self._live_snapshot().docs)

    def original(self, doc_id: str) -> bytes:
        """The bytes of indexed PDF ``doc_id``, as they were indexed; ``KeyError`` when it is
        not an indexed PDF, or the file has changed (or gone) since it was indexed.

        The file is found through the index's manifest, never by a path a caller names, and
        its sha256 must be the indexed one: nothing else under (or linked from) the corpus
        folder can be read this way.
        """
        from askdef.ingest.loading import PDF_SUFFIXES, sha256_of

        files = self._live_snapshot().manifest.files
        indexed = next((key for key in files if key == doc_id), None)
        if indexed is None or Path(indexed).suffix.lower() not in PDF_SUFFIXES:
            raise KeyError(f"{doc_id} is not an indexed PDF")
        try:
            data = (self.settings.corpus_dir / indexed).read_bytes()
        except OSError as exc:
            raise KeyError(f"{doc_id} cannot be read") from exc
        if sha256_of(data) != files[indexed]:
            raise KeyError(f"{doc_id} has changed since it was indexed")
        return data

    def unindexed(self) -> list[str]:
        """The corpus files the live index does not hold (of a type askdef does not read,
        unreadable, links out of the corpus), sorted; ``askdef index`` says why for each.
        Hidden files are not corpus files. Empty when the corpus folder is not there."""
        from askdef.ingest.loading import corpus_files, doc_id_of

        corpus = self.settings.corpus_dir
        try:
            found = corpus_files(corpus)
        except CorpusNotFoundError:
            return []
        indexed = self._live_snapshot().manifest.files
        ids = [doc_id_of(path, corpus) for path in found.files]
        return sorted({i for i in ids if i not in indexed} | {s.doc_id for s in found.skipped})

    def document(self, doc_id: str) -> list[Paragraph]:
        """Every indexed paragraph of ``doc_id`` in order; ``KeyError`` if it is not indexed."""
        snapshot = self._live_snapshot()
        count = len(snapshot.docs[doc_id]["paragraphs"])
        return [snapshot.paragraph(doc_id, n) for n in range(1, count + 1)]

    def _check_question(self, question: str) -> str:
        """The question stripped; ``InputError`` if it is empty, too long or holds an invalid
        character."""
        text = (question or "").strip()
        if not text:
            raise EmptyQuestionError("The question is empty: type a question to search for.")
        limit = self.settings.max_question_chars
        if len(text) > limit:
            raise QuestionTooLongError(
                f"The question is {len(text):,} characters long; the limit is {limit:,}. "
                "Shorten it to the question itself (ASKDEF_MAX_QUESTION_CHARS raises the limit)."
            )
        _check_text(question, "The question", "ask again")
        return text

    @staticmethod
    def _check_history(history: list[dict[str, str]]) -> list[dict[str, str]]:
        """A copy of ``history`` once no message holds an invalid character (its length is
        not limited: an answer or an earlier long question is no reason to refuse a turn)."""
        for n, message in enumerate(history, start=1):
            role = message.get("role")
            where = f"History message {n}" + (f" ({role})" if role in _ROLES else "")
            _check_text(message.get("content", ""), where, "send the conversation again")
        return list(history)

    def _scorer_of(self, snapshot: Snapshot) -> Scorer:
        """The one sentence scorer search and the generators share, with the live index's
        vocabulary and stored sentence vectors (re-pointed when a new generation goes live)."""
        if self._scorer is None:
            self._scorer = Scorer(self.embedder)
        self._scorer.vocabulary = snapshot.vocabulary
        self._scorer.stored = snapshot.sentence_vectors
        return self._scorer

    def _live_snapshot(self) -> Snapshot:
        """A snapshot of the live index generation, reopened when a writer publishes a new one."""
        with self._index.guard():
            key = self._index.require_current()  # cheap: a file read, or one Chroma get
        with self._lock:
            if self._snapshot is None or self._snapshot.key != key:
                snapshot = Snapshot.open(self._index, key)
                snapshot.manifest.check_matches(self.settings.index_shape())
                self._snapshot = snapshot
            return self._snapshot


def _check_text(text: str, where: str, retry: str) -> None:
    """Raise ``InvalidTextError`` if ``text`` (the part of the input ``where`` names) holds a
    lone surrogate or a control character other than tab, newline and carriage return."""
    bad = _INVALID_CHARACTER.search(text)
    if bad is None:
        return
    code = ord(bad.group())
    what = (
        f"a lone UTF-16 surrogate U+{code:04X}, half of a character such as an emoji"
        if 0xD800 <= code <= 0xDFFF
        else f"the control character U+{code:04X}"
    )
    raise InvalidTextError(
        f"{where} contains an invalid character ({what}) at position {bad.start() + 1:,}: "
        f"remove it and {retry}."
    )
