"""PDF files (their text layer) as text: paragraphs in reading order, and where each page starts.

pypdf reports every piece of text a page draws with its position and font size
(``extract_text(visitor_text=...)``); askdef lays the pieces out itself with generic rules,
none of them tuned to one file:

- rows are pieces at one height; a page's top two and bottom two rows are running headers and
  footers when the same words (digits aside) stand at the same height on at least half the
  pages, and page numbers when they are only a number (``4``, ``Page 4 of 9``, ``- 4 -``);
- a page is read in two columns when, on at least three rows, a piece starts at one common
  point in the middle third of the page beside a piece that fills the space to its left
  (a table's cells are short, so a table is not mistaken for columns);
- pieces of one row that start where pieces of the row above or below start are table cells,
  joined by `` | `` as ``askdef.ingest.word`` writes a Word table's row;
- lines join into a paragraph until a wider gap than the text's usual line spacing, a change
  of font size or weight, an indented first line, or a short line ending a sentence; a
  paragraph runs on across a column or page break unless its last line ended a sentence
  short of the column's width;
  a word hyphenated at a line end is joined again;
- a paragraph in a larger font than the body text, or short and all bold, is a heading, written
  as a Markdown heading (bigger fonts, higher levels) so that ``askdef.ingest.paragraphs`` makes it
  the section of what follows, as for Markdown and Word files.
"""

from __future__ import annotations

import io
import itertools
import re
import statistics
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from askdef.errors import FileTooLargeError, UnreadableFileError
from askdef.settings import MAX_FILE_CHARS, MAX_PDF_PAGES

NO_OCR = "askdef reads a PDF's text layer only and does not run OCR"

_CHAR_WIDTH = 0.5  # a Latin glyph's average width in ems: pypdf does not say how wide text is
_EDGE_ROWS = 2  # rows at the top and at the bottom of a page that may be headers or footers
_MIN_COLUMN_ROWS = 3
_MAX_HEADING_WORDS = 20
_PAGE_NUMBER = re.compile(
    r"^(?:page\s+)?[-–—]?\s*(?:\d+|[ivxlc]+)\s*[-–—]?(?:\s*(?:of|/)\s*\d+)?$", re.IGNORECASE
)
_HYPHENATED = re.compile(r"[^\W\d_][-\u00ad\u2010]$")
_ENDS_SENTENCE = re.compile(r"[.!?:;…][\"”’')\]]*$")


@dataclass(frozen=True)
class PdfText:
    """A PDF's text (paragraphs separated by blank lines) and, for each page, the offset in it
    of the page's first character."""

    text: str
    page_starts: list[int]


@dataclass
class _Piece:
    x: float
    y: float
    size: float
    bold: bool
    text: str

    @property
    def right(self) -> float:
        return self.x + len(self.text) * self.size * _CHAR_WIDTH


@dataclass
class _Line:
    page: int
    x: float
    y: float
    size: float
    bold: bool
    text: str
    table: bool = False  # a table row: its own paragraph
    column_start: bool = False  # first line of a column or a page


@dataclass
class _Paragraph:
    lines: list[_Line] = field(default_factory=list)


def pdf_text(
    doc_id: str, data: bytes, *, max_pages: int = MAX_PDF_PAGES, max_chars: int = MAX_FILE_CHARS
) -> PdfText:
    """The text of a PDF file's bytes; ``UnreadableFileError`` when it is damaged, encrypted
    or has no text layer (or only page numbers and running lines), ``FileTooLargeError`` when
    it has over ``max_pages`` pages (counted before any is read) or its pages hold over
    ``max_chars`` characters."""
    pages = _pages(doc_id, data, max_pages, max_chars)
    if not any(piece.text.strip() for rows, _ in pages for row in rows for piece in row):
        raise UnreadableFileError(
            f"{doc_id}: has no text layer (a scan or pictures of pages); {NO_OCR}: make a "
            "searchable PDF with an OCR tool (e.g. ocrmypdf), then index that."
        )
    _drop_running_lines(pages)
    lines = [
        line for page, (rows, width) in enumerate(pages, 1) for line in _read(rows, width, page)
    ]
    read = _compose(lines, len(pages))
    if not read.text.strip():
        raise UnreadableFileError(
            f"{doc_id}: has no text but page numbers and lines repeated on every page (a scan "
            f"with a stamp or a running header?); {NO_OCR}: make a searchable PDF with an OCR "
            "tool (e.g. ocrmypdf), then index that."
        )
    return read


def _pages(
    doc_id: str, data: bytes, max_pages: int, max_chars: int
) -> list[tuple[list[list[_Piece]], float]]:
    """Each page's rows of pieces (top to bottom, each row left to right) and its width."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):  # an empty user password opens
            raise FileNotDecryptedError("a password is needed")
        pages: list[tuple[list[list[_Piece]], float]] = []
        chars = 0
        for page in _bounded(doc_id, reader, max_pages):
            pieces = _pieces(page)
            chars += sum(len(piece.text) for piece in pieces)
            if chars > max_chars:  # stop reading now, not after the last page
                raise FileTooLargeError(
                    f"{doc_id}: holds over {max_chars:,} characters of text "
                    "(ASKDEF_MAX_FILE_CHARS); not indexed: split it into smaller files, or "
                    "raise the limit."
                )
            pages.append((_rows(pieces), float(page.mediabox.width)))
        return pages
    except UnreadableFileError:
        raise
    except (FileNotDecryptedError, DependencyError) as exc:
        raise UnreadableFileError(
            f"{doc_id}: is an encrypted PDF ({exc}); askdef does not open password-protected "
            "files: save a copy without the password, then index that."
        ) from exc
    except Exception as exc:  # a truncated file, bad objects: whatever the parser raises
        raise UnreadableFileError(
            f"{doc_id}: is not a readable PDF ({type(exc).__name__}: {exc}); it is damaged or "
            "in another format: save or export it as PDF again, or remove it."
        ) from exc


def _bounded(doc_id: str, reader: Any, max_pages: int) -> Iterator[Any]:
    """The reader's pages; ``FileTooLargeError`` first when there are over ``max_pages``.

    The page tree's ``/Count`` says so at once (pypdf takes seconds to list 30,000 pages); a
    count that lies low is caught as the pages come.
    """

    def refuse(count: int) -> FileTooLargeError:
        return FileTooLargeError(
            f"{doc_id}: has {count:,} pages, over the limit of {max_pages:,} "
            "(ASKDEF_MAX_PDF_PAGES); not indexed: split it into smaller files, or raise the limit."
        )

    try:
        count = int(reader.trailer["/Root"]["/Pages"]["/Count"])
    except Exception:  # no count, or not a number: the pages are counted as they come
        count = 0
    if count > max_pages:
        raise refuse(count)
    for n, page in enumerate(reader.pages, 1):
        if n > max_pages:
            raise refuse(len(reader.pages))
        yield page


def _pieces(page: Any) -> list[_Piece]:
    pieces: list[_Piece] = []

    def visit(text: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        if not text.strip():
            return
        # The text matrix maps into user space through the current transformation matrix.
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        scaled = abs(size * (tm[3] or 1) * (cm[3] or 1))
        name = str(font.get("/BaseFont", "")) if font else ""
        bold = bool(re.search(r"bold|black|heavy", name, re.IGNORECASE))
        for i, part in enumerate(text.split("\n")):
            if part.strip():
                pieces.append(_Piece(x, y - i * scaled * 1.2, scaled, bold, " ".join(part.split())))

    page.extract_text(visitor_text=visit)
    return pieces


def _rows(pieces: list[_Piece]) -> list[list[_Piece]]:
    rows: list[list[_Piece]] = []
    for piece in sorted(pieces, key=lambda p: (-p.y, p.x)):
        if rows and abs(rows[-1][0].y - piece.y) < 0.3 * piece.size:
            rows[-1].append(piece)
        else:
            rows.append([piece])
    return [sorted(row, key=lambda p: p.x) for row in rows]


def _row_text(row: list[_Piece]) -> str:
    return " ".join(p.text for p in row)


def _drop_running_lines(pages: list[tuple[list[list[_Piece]], float]]) -> None:
    """Remove running headers, footers and page numbers from the pages' edge rows."""

    def key(row: list[_Piece]) -> tuple[str, int]:
        return re.sub(r"\d+", "#", _row_text(row).lower()), round(row[0].y)

    def edges(rows: list[list[_Piece]]) -> list[list[_Piece]]:
        return rows[:_EDGE_ROWS] + rows[_EDGE_ROWS:][-_EDGE_ROWS:]

    seen = Counter(k for rows, _ in pages for k in {key(row) for row in edges(rows)})
    repeated = max(2, (len(pages) + 1) // 2)
    for rows, _ in pages:
        running = {
            id(row)
            for row in edges(rows)
            if seen[key(row)] >= repeated or _PAGE_NUMBER.match(_row_text(row))
        }
        rows[:] = [row for row in rows if id(row) not in running]


def _read(rows: list[list[_Piece]], width: float, page: int) -> Iterator[_Line]:
    """A page's lines in reading order: column by column when it has two."""
    split = _column_split(rows, width)
    columns = (
        [rows]
        if split is None
        else [
            [r for r in ([p for p in row if p.x < split] for row in rows) if r],
            [r for r in ([p for p in row if p.x >= split] for row in rows) if r],
        ]
    )
    for column in columns:
        for i, row in enumerate(column):
            cells = _is_table_row(row, column[i - 1] if i else [], column[i + 1 : i + 2])
            yield _Line(
                page=page,
                x=row[0].x,
                y=row[0].y,
                size=max(p.size for p in row),
                bold=all(p.bold for p in row),
                text=(" | " if cells else " ").join(p.text for p in row),
                table=cells,
                column_start=i == 0,
            )


def _column_split(rows: list[list[_Piece]], width: float) -> float | None:
    """Where a page's second column starts, or None for a page in one column."""
    starts: Counter[float] = Counter()
    for row in rows:
        for left, piece in itertools.pairwise(row):
            filled = left.right - left.x >= 0.5 * (piece.x - left.x)
            if width / 3 < piece.x < 2 * width / 3 and filled:
                starts[round(piece.x)] += 1
    if not starts:
        return None
    x, count = starts.most_common(1)[0]
    return x - 1.0 if count >= _MIN_COLUMN_ROWS else None


def _is_table_row(row: list[_Piece], above: list[_Piece], below: list[list[_Piece]]) -> bool:
    if len(row) < 2:
        return False
    near = [r for r in [above, *below] if len(r) >= 2]
    starts = {round(p.x) for r in near for p in r[1:]}
    return any(round(p.x) in starts for p in row[1:])


def _compose(lines: list[_Line], page_count: int) -> PdfText:
    body = _body_size(lines)
    spacing = _line_spacing(lines, body)
    full = _full_width(lines, body)
    paragraphs: list[_Paragraph] = []
    for line in lines:
        if not paragraphs or _starts_paragraph(paragraphs[-1].lines[-1], line, spacing, full):
            paragraphs.append(_Paragraph())
        paragraphs[-1].lines.append(line)
    levels = _heading_levels(paragraphs, body)
    text = ""
    page_starts: list[int] = []
    for paragraph in paragraphs:
        text += "\n\n" if text else ""
        for i, line in enumerate(paragraph.lines):
            if i and _HYPHENATED.search(paragraph.lines[i - 1].text) and line.text[:1].islower():
                text = text[:-1]  # the hyphen: the word goes on
            elif i:
                text += " "
            while len(page_starts) < line.page:
                page_starts.append(len(text))
            if not i and (level := levels.get(id(paragraph))):
                text += "#" * level + " "
            text += line.text
    while len(page_starts) < page_count:
        page_starts.append(len(text))
    return PdfText(text=text, page_starts=page_starts)


def _body_size(lines: Iterable[_Line]) -> float:
    sizes: Counter[float] = Counter()
    for line in lines:
        sizes[round(line.size, 1)] += len(line.text)
    return sizes.most_common(1)[0][0] if sizes else 0.0


def _line_spacing(lines: list[_Line], body: float) -> float:
    """The usual distance between two body lines of one paragraph."""
    gaps = [
        a.y - b.y
        for a, b in itertools.pairwise(lines)
        if a.page == b.page and not b.column_start and round(a.size, 1) == round(b.size, 1) == body
    ]
    gaps = [g for g in gaps if g > 0]
    return statistics.median(gaps) if gaps else 1.2 * body


def _full_width(lines: list[_Line], body: float) -> float:
    """How wide a full line of body text is (estimated): most lines of a paragraph are full."""
    widths = sorted(_width(line) for line in lines if round(line.size, 1) == body)
    return widths[int(0.9 * (len(widths) - 1))] if widths else 0.0


def _width(line: _Line) -> float:
    return len(line.text) * line.size * _CHAR_WIDTH


def _starts_paragraph(previous: _Line, line: _Line, spacing: float, full: float) -> bool:
    if previous.table or line.table:
        return True
    if abs(previous.size - line.size) > 0.5 or previous.bold != line.bold:
        return True
    ended = bool(_ENDS_SENTENCE.search(previous.text)) and not line.text[:1].islower()
    if line.column_start:  # a column or page break: the paragraph runs on unless it ended
        return ended and _width(previous) < 0.8 * full  # a last line seldom fills the column
    if previous.y - line.y > 1.3 * spacing or previous.y <= line.y:
        return True
    if line.x > previous.x + line.size:  # an indented first line
        return True
    # No gap and no indent: a sentence ending well short of the column's width ends it (a line
    # can fall short by a long word that did not fit, hence well short).
    return ended and _width(previous) < 0.6 * full


def _heading_levels(paragraphs: list[_Paragraph], body: float) -> dict[int, int]:
    """Heading paragraphs (by ``id``) and their level: 1 for the largest font."""
    headings: dict[int, float] = {}
    for paragraph in paragraphs:
        first = paragraph.lines[0]
        words = sum(len(line.text.split()) for line in paragraph.lines)
        if first.table or words > _MAX_HEADING_WORDS:
            continue
        if first.size > body * 1.15 or (
            first.bold and not _ENDS_SENTENCE.search(paragraph.lines[-1].text)
        ):
            headings[id(paragraph)] = round(first.size, 1)
    sizes = sorted(set(headings.values()), reverse=True)
    return {key: min(6, sizes.index(size) + 1) for key, size in headings.items()}
