"""askdef: answers about a folder of documents, each claim cited to its paragraph."""

from askdef import _offline  # noqa: F401  (sets offline defaults before any model library loads)

__version__ = "0.1.0"

from askdef.api import AskDef  # noqa: E402
from askdef.errors import AskdefError  # noqa: E402
from askdef.settings import Settings  # noqa: E402
from askdef.types import IngestReport, Paragraph, Passage  # noqa: E402

__all__ = ["AskDef", "AskdefError", "IngestReport", "Paragraph", "Passage", "Settings", "__version__"]
