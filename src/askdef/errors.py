"""The one family of errors askdef raises; every message says what to do next.

    AskdefError
    ├── InputError
    │   ├── EmptyQuestionError
    │   ├── QuestionTooLongError
    │   └── InvalidTextError
    ├── CorpusError
    │   ├── CorpusNotFoundError
    │   ├── EmptyCorpusError
    │   └── UnreadableFileError
    │       └── FileTooLargeError
    ├── StoreError
    │   ├── IndexMissingError
    │   ├── IndexCorruptError
    │   ├── IndexMismatchError
    │   ├── IndexLockedError
    │   ├── IndexNotWritableError
    │   ├── StoreUnavailableError
    │   └── DiskFullError
    └── ModelError
        └── GenerationError

The CLI and the web UI show ``str(error)`` as is, without a traceback.
"""

from __future__ import annotations


class AskdefError(Exception):
    """Base of every error askdef raises on purpose."""


class InputError(AskdefError):
    """A question or argument that askdef cannot work with."""


class EmptyQuestionError(InputError):
    """The question is empty or only whitespace."""


class QuestionTooLongError(InputError):
    """The question is longer than ``Settings.max_question_chars``."""


class InvalidTextError(InputError):
    """The question or a history message holds a lone surrogate or a control character."""


class CorpusError(AskdefError):
    """A problem with the document folder."""


class CorpusNotFoundError(CorpusError):
    """The corpus folder does not exist."""


class EmptyCorpusError(CorpusError):
    """The corpus folder holds no readable document."""


class UnreadableFileError(CorpusError):
    """A corpus file is binary, not UTF-8, or cannot be read."""


class FileTooLargeError(UnreadableFileError):
    """A corpus file expands past a bound (its text, a PDF's pages, a Word file's unzipped
    parts), so reading it would cost minutes and gigabytes; it is skipped unread."""


class StoreError(AskdefError):
    """A problem with the index (the derived store under index_dir)."""


class IndexMissingError(StoreError):
    """No index has been built yet."""


class IndexCorruptError(StoreError):
    """The index exists but is damaged: a part cannot be read, or the parts disagree.

    ``problems`` maps each damaged part (``askdef.index.check.PARTS``) to what is wrong.
    """

    def __init__(self, message: str, problems: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.problems = dict(problems or {})


class IndexMismatchError(StoreError):
    """The index was built with other settings (embedding model, chunker, format)."""


class IndexLockedError(StoreError):
    """Another process is writing the index."""


class IndexNotWritableError(StoreError):
    """The index folder cannot be written (a read-only mount, no permission): ``askdef index``
    cannot take the writer's lock there."""


class StoreUnavailableError(StoreError):
    """The Chroma server named by ``ASKDEF_CHROMA_URL`` cannot be reached (down, or went away).

    Nothing is cached around the failure: the next call after the server is back works.
    """


class DiskFullError(StoreError):
    """The disk ran out of space while a new index generation was written (the live one is
    left as it was)."""


class ModelError(AskdefError):
    """A model (embedder or LLM) could not be loaded or failed."""


class GenerationError(ModelError):
    """A loaded language model failed while writing an answer, or stopped before finishing it.

    Raised for an error reported by the model runtime, for an answer cut off at its token limit,
    and for a stream that ended without saying why.
    """
