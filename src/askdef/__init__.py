"""askdef: answers about a folder of documents, each claim cited to its paragraph."""

from askdef import _offline  # noqa: F401  (sets offline defaults before any model library loads)
from askdef._version import __version__
from askdef.api import AskDef
from askdef.client import Client
from askdef.errors import AskdefError
from askdef.settings import Settings
from askdef.types import (
    Answer,
    Citation,
    Delta,
    Fallback,
    IngestReport,
    Paragraph,
    Passage,
    Retrieved,
)

__all__ = [
    "Answer",
    "AskDef",
    "AskdefError",
    "Citation",
    "Client",
    "Delta",
    "Fallback",
    "IngestReport",
    "Paragraph",
    "Passage",
    "Retrieved",
    "Settings",
    "__version__",
]
