"""Word (.docx) files as text: paragraphs in order, headings as the sections above them.

python-docx reads the document body in order (paragraphs and tables). A paragraph whose style
is a heading becomes a Markdown heading line, so ``askdef.ingest.paragraphs`` makes it the section
of what follows, as it does for Markdown files; a list paragraph becomes a ``-`` item; each
table row becomes one line, its cells joined by `` | ``. Paragraphs are separated by a blank
line, and citations' offsets index into this text.

A .docx is a zip archive, and python-docx unzips every part into memory and parses it: a small
file whose parts unzip to hundreds of megabytes (a zip bomb) would take minutes and gigabytes.
The archive's central directory says how large each part is before anything is unzipped (and
``zipfile`` stops reading a part at its declared size), so such a file is refused first.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from typing import Any

from askdef.errors import FileTooLargeError, UnreadableFileError

_HEADING = re.compile(r"^(?:heading|title)\s*(\d*)$", re.IGNORECASE)
# A Word file's XML compresses 5-15x; 100x over a megabyte is a part made to expand.
MAX_UNZIPPED_BYTES = 256 * 2**20
MAX_RATIO = 100
_RATIO_FROM = 2**20  # bytes: smaller parts may compress as well as they like


def docx_text(doc_id: str, data: bytes) -> str:
    """The text of a .docx file's bytes; ``UnreadableFileError`` when it is not one."""
    import docx

    _check_expansion(doc_id, data)
    try:
        blocks = list(_blocks(docx.Document(io.BytesIO(data))))
    except Exception as exc:  # a damaged zip or XML, another format: whatever the readers raise
        raise UnreadableFileError(
            f"{doc_id}: is not a readable Word file ({type(exc).__name__}: {exc}); it is damaged "
            "or in another format: re-save it as .docx, or remove it."
        ) from exc
    return "\n\n".join(block for block in blocks if block.strip())


def _check_expansion(doc_id: str, data: bytes) -> None:
    """``FileTooLargeError`` when the zip's parts, by its central directory, unzip to more than
    ``MAX_UNZIPPED_BYTES`` in all, or a part over a megabyte to ``MAX_RATIO`` times its size."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return  # not a zip: python-docx says the file is not a readable Word file
    total = sum(part.file_size for part in parts)
    if total > MAX_UNZIPPED_BYTES:
        raise FileTooLargeError(
            f"{doc_id}: is a Word file whose parts unzip to {total / 2**20:,.0f} MB, over the "
            f"{MAX_UNZIPPED_BYTES // 2**20} MB askdef reads; not indexed: split it into smaller "
            "files, or remove it."
        )
    for part in parts:
        ratio = part.file_size / max(1, part.compress_size)
        if part.file_size > _RATIO_FROM and ratio > MAX_RATIO:
            raise FileTooLargeError(
                f"{doc_id}: is a Word file whose part {part.filename} unzips {ratio:,.0f} times "
                f"its size (to {part.file_size / 2**20:,.0f} MB), more than the {MAX_RATIO} times "
                "a document does (a zip bomb?); not indexed: re-save it from Word, or remove it."
            )


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
