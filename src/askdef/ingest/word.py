"""Word (.docx) files as text: paragraphs in order, headings as the sections above them.

python-docx reads the document body in order (paragraphs and tables). A paragraph whose style
is a heading becomes a Markdown heading line, so ``askdef.ingest.paragraphs`` makes it the section
of what follows, as it does for Markdown files; a list paragraph becomes a ``-`` item; each
table row becomes one line, its cells joined by `` | ``. Paragraphs are separated by a blank
line, and citations' offsets index into this text.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

from askdef.errors import UnreadableFileError

_HEADING = re.compile(r"^(?:heading|title)\s*(\d*)$", re.IGNORECASE)


def docx_text(doc_id: str, data: bytes) -> str:
    """The text of a .docx file's bytes; ``UnreadableFileError`` when it is not one."""
    import docx

    try:
        blocks = list(_blocks(docx.Document(io.BytesIO(data))))
    except Exception as exc:  # a damaged zip or XML, another format: whatever the readers raise
        raise UnreadableFileError(
            f"{doc_id}: is not a readable Word file ({type(exc).__name__}: {exc}); it is damaged "
            "or in another format: re-save it as .docx, or remove it."
        ) from exc
    return "\n\n".join(block for block in blocks if block.strip())


def _blocks(document: Any) -> Iterator[str]:
    from docx.table import Table

    for item in document.iter_inner_content():
        if isinstance(item, Table):
            for row in item.rows:
                cells = [" ".join(cell.text.split()) for cell in row.cells]
                yield " | ".join(_unique(cells))
            continue
        text = " ".join(item.text.split())
        style = (item.style.name if item.style is not None else "") or ""
        heading = _HEADING.match(style)
        if heading and text:
            yield "#" * min(6, int(heading.group(1) or 1)) + " " + text
        elif style.lower().startswith("list") and text:
            yield f"- {text}"
        else:
            yield text


def _unique(cells: list[str]) -> list[str]:
    """A merged cell repeats in each column it spans: keep it once."""
    out: list[str] = []
    for cell in cells:
        if not out or cell != out[-1]:
            out.append(cell)
    return out
