"""askdef: answers about a folder of documents, each claim cited to its paragraph."""

from askdef import _offline  # noqa: F401  (sets offline defaults before any model library loads)

__version__ = "0.1.0"

from askdef.api import AskDef
from askdef.errors import AskdefError
from askdef.settings import Settings
from askdef.types import IngestReport, Paragraph, Passage

__all__ = [
    "AskDef",
    "AskdefError",
    "IngestReport",
    "Paragraph",
    "Passage",
    "Settings",
    "__version__",
]
