"""PDF files (their text layer) as text: paragraphs in reading order, and where each page starts.

pdfminer.six lays a page out (``LAParams``): it measures every glyph, so words are whole
(``comprehensive``, never ``comprehe nsive``), groups glyphs into lines and lines into text
boxes. askdef reads those lines with generic rules, none of them tuned to one file:

- a page is read column by column where columns stand side by side (a full line has another
  beside it, so an indented abstract of a one-column page is no column); a line reaching over
  a column start with no other column's text at its height (a title, a wide table) parts the
  page into bands read top to bottom, columns left to right within each;
- the top two and bottom two rows of a page are running headers and footers when the same
  words (digits aside) stand at the same height on at least half the pages, and page numbers
  when they are only a number (``4``, ``Page 4 of 9``, ``- 4 -``); footnote marks (a raised
  digit in a smaller size) and glyphs with no text (``(cid:45)``, a drawn arrow) are dropped;
- a line is cut into cells where a gap of over two thirds of an em parts its glyphs; rows of at
  least two short cells, with a cell starting, ending or centred where one does in a row just
  above or below, are a table's rows: each is one paragraph, its cells joined by `` | `` as
  ``askdef.ingest.word`` writes a Word table's row;
- lines join into a paragraph until a wider gap than the text's usual line spacing, a change
  of font size or weight, an indented first line, a list mark (``•``, ``2.``, ``[3]``), a line
  back at the left of a hanging-indent paragraph (a reference list), or a sentence ending short
  of the column's width; a paragraph runs on across a column or page break unless it ended;
- while a paragraph is left open at a column's foot, what stands between it and its next line
  (a footnote in a smaller size, a figure's labels and caption, lines away from the column's
  left edge) is set aside and follows the paragraph;
- a word hyphenated at a line end is joined again;
- a paragraph in a larger font than the body text, or short, all bold and at a column's left
  edge, is a heading, written as a Markdown heading (bigger fonts, higher levels) so that
  ``askdef.ingest.paragraphs`` makes it the section of what follows; no other line of a PDF
  makes a section (a figure's labels are short lines too).
"""

from __future__ import annotations

import io
import itertools
import re
import statistics
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from askdef.errors import FileTooLargeError, UnreadableFileError
from askdef.settings import MAX_FILE_CHARS, MAX_PDF_PAGES

NO_OCR = "askdef reads a PDF's text layer only and does not run OCR"

_EDGE_ROWS = 2  # rows at the top and at the bottom of a page that may be headers or footers
_CELL_GAP = 0.65  # ems: a wider gap parts cells (a justified line's spaces stay under 0.6)
_SHORT_CELL = 0.6  # of a full line's width: a table's cells are shorter than this
_ALIGNED = 2.0  # points: cells of two rows start, end or centre this close are one column
_MAX_HEADING_WORDS = 20
_PAGE_NUMBER = re.compile(
    r"^(?:page\s+)?[-–—]?\s*(?:\d+|[ivxlc]+)\s*[-–—]?(?:\s*(?:of|/)\s*\d+)?$", re.IGNORECASE
)
_HYPHENATED = re.compile(r"[^\W\d_][-\u00ad\u2010]$")
_ENDS_SENTENCE = re.compile(r"[.!?:;…][\"”’')\]]*$")
_LIST_MARK = re.compile(r"^(?:[•·▪◦‣∙●○■□–-]|\d{1,2}[.)]|\(?[a-z]\)|\[\d{1,3}\])(?:\s|$)")
_NO_GLYPH = re.compile(r"\(cid:\d+\)")
_MARKS = frozenset("0123456789*†‡§¶")
_BOLD_FONT = re.compile(r"bold|black|heavy|semibold|demi|medi|cmbx", re.IGNORECASE)


@dataclass(frozen=True)
class PdfText:
    """A PDF's text (paragraphs separated by blank lines) and, for each page, the offset in it
    of the page's first character."""

    text: str
    page_starts: list[int]


@dataclass
class _Cell:
    """Text of one line between wide gaps, with where it stands."""

    x: float
    right: float
    y: float
    size: float
    bold: bool
    text: str


@dataclass
class _PageLine:
    page: int
    cells: list[_Cell]
    table: bool = False  # a table row: its own paragraph
    column_start: bool = False  # first line of a column or a page
    left: float = 0.0  # where the text of the line's column starts

    @property
    def at_left(self) -> bool:
        """Whether the line starts at its column's left edge or an indent from it."""
        return 0 <= self.x - self.left <= 1.5 * self.size

    @property
    def x(self) -> float:
        return self.cells[0].x

    @property
    def right(self) -> float:
        return self.cells[-1].right

    @property
    def y(self) -> float:
        return self.cells[0].y

    @property
    def size(self) -> float:
        return max(c.size for c in self.cells)

    @property
    def bold(self) -> bool:
        return all(c.bold for c in self.cells)

    @property
    def text(self) -> str:
        return (" | " if self.table else " ").join(c.text for c in self.cells)

    @property
    def width(self) -> float:
        return self.right - self.x


@dataclass
class _Paragraph:
    lines: list[_PageLine] = field(default_factory=list)


def pdf_text(
    doc_id: str, data: bytes, *, max_pages: int = MAX_PDF_PAGES, max_chars: int = MAX_FILE_CHARS
) -> PdfText:
    """The text of a PDF file's bytes; ``UnreadableFileError`` when it is damaged, encrypted
    or has no text layer (or only page numbers and running lines), ``FileTooLargeError`` when
    it has over ``max_pages`` pages (counted before any is read) or its pages hold over
    ``max_chars`` characters."""
    pages = _pages(doc_id, data, max_pages, max_chars)
    if not any(line for page in pages for line in page):
        raise UnreadableFileError(
            f"{doc_id}: has no text layer (a scan or pictures of pages); {NO_OCR}: make a "
            "searchable PDF with an OCR tool (e.g. ocrmypdf), then index that."
        )
    _drop_running_lines(pages)
    body = _body_size([line for page in pages for line in page])
    full = _full_width([line for page in pages for line in page], body)
    lines = [line for page in pages if page for line in _read(page, full)]
    read = _compose(lines, len(pages), body, full)
    if not read.text.strip():
        raise UnreadableFileError(
            f"{doc_id}: has no text but page numbers and lines repeated on every page (a scan "
            f"with a stamp or a running header?); {NO_OCR}: make a searchable PDF with an OCR "
            "tool (e.g. ocrmypdf), then index that."
        )
    return read


def _pages(doc_id: str, data: bytes, max_pages: int, max_chars: int) -> list[list[_PageLine]]:
    """Each page's lines in pdfminer's reading order (its text boxes' order)."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError

    try:
        # pypdf answers at once what pdfminer learns only page by page: encrypted, damaged,
        # how many pages (the page tree's /Count).
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):  # an empty user password opens
            raise FileNotDecryptedError("a password is needed")
        count = sum(1 for _ in _bounded(doc_id, reader, max_pages))
        return _laid_out(doc_id, data, count, max_chars)
    except UnreadableFileError:
        raise
    except (FileNotDecryptedError, DependencyError) as exc:
        raise UnreadableFileError(
            f"{doc_id}: is an encrypted PDF ({exc}); askdef does not open password-protected "
            "files: save a copy without the password, then index that."
        ) from exc
    except Exception as exc:  # a truncated file, bad objects: whatever the parsers raise
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


def _laid_out(doc_id: str, data: bytes, count: int, max_chars: int) -> list[list[_PageLine]]:
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LAParams, LTTextBox

    pages: list[list[_PageLine]] = []
    chars = 0
    for number, page in enumerate(
        extract_pages(io.BytesIO(data), laparams=LAParams(), maxpages=count), 1
    ):
        lines = [
            _PageLine(number, cells)
            for box in page
            if isinstance(box, LTTextBox)
            for line in box
            if (cells := _cells(line))
        ]
        chars += sum(len(c.text) for line in lines for c in line.cells)
        if chars > max_chars:  # stop reading now, not after the last page
            raise FileTooLargeError(
                f"{doc_id}: holds over {max_chars:,} characters of text "
                "(ASKDEF_MAX_FILE_CHARS); not indexed: split it into smaller files, or "
                "raise the limit."
            )
        pages.append(lines)
    return pages


def _cells(line: Any) -> list[_Cell]:
    """A pdfminer text line's cells: its glyphs cut at wide gaps, marks and no-text glyphs out."""
    from pdfminer.layout import LTChar

    glyphs = [g for g in line if isinstance(g, LTChar) and not _NO_GLYPH.fullmatch(g.get_text())]
    if not glyphs:
        return []
    kept = {id(g) for g in glyphs}
    sizes = Counter(round(g.size, 1) for g in glyphs if g.get_text().strip())
    size = sizes.most_common(1)[0][0] if sizes else glyphs[0].size
    cells: list[_Cell] = []
    text = ""
    previous: Any = None
    start: Any = None
    for item in line:
        if not isinstance(item, LTChar):  # pdfminer's word space (LTAnno)
            text += item.get_text().replace("\n", "")
            continue
        if id(item) not in kept or (item.size < 0.8 * size and item.get_text() in _MARKS):
            continue  # a glyph with no text; a raised footnote mark
        if previous is not None and item.x0 - previous.x1 > _CELL_GAP * size:
            cells.append(_cell(start, previous, text))
            text, start = "", None
        start = start or item
        text += item.get_text()
        previous = item
    if previous is not None:
        cells.append(_cell(start, previous, text))
    cells = [c for c in cells if c.text]
    # A list mark or a section number is no cell: "• Heating…", "1 Introduction".
    while len(cells) > 1 and _LIST_MARK.match(cells[0].text + " "):
        first, second = cells[0], cells.pop(1)
        cells[0] = _Cell(
            first.x, second.right, first.y, first.size, second.bold, f"{first.text} {second.text}"
        )
    return cells


def _cell(first: Any, last: Any, text: str) -> _Cell:
    # Ligatures (ﬁ, ﬂ) as their letters, so that search matches "fits" with "ﬁts".
    text = "".join(unicodedata.normalize("NFKC", ch) if "ﬀ" <= ch <= "ﬆ" else ch for ch in text)
    return _Cell(
        first.x0,
        last.x1,
        first.y0,
        first.size,
        bool(_BOLD_FONT.search(first.fontname)),
        " ".join(text.split()),
    )


def _rows(lines: list[_PageLine]) -> list[list[_PageLine]]:
    """A page's lines grouped by height, top to bottom."""
    rows: list[list[_PageLine]] = []
    for line in sorted(lines, key=lambda line: -line.y):
        if rows and abs(rows[-1][0].y - line.y) < 0.3 * line.size:
            rows[-1].append(line)
        else:
            rows.append([line])
    return rows


def _row_text(row: list[_PageLine]) -> str:
    return " ".join(line.text for line in sorted(row, key=lambda line: line.x))


def _drop_running_lines(pages: list[list[_PageLine]]) -> None:
    """Remove running headers, footers and page numbers from the pages' edge rows."""

    def key(row: list[_PageLine]) -> tuple[str, int]:
        return re.sub(r"\d+", "#", _row_text(row).lower()), round(row[0].y)

    def edges(rows: list[list[_PageLine]]) -> list[list[_PageLine]]:
        return rows[:_EDGE_ROWS] + rows[_EDGE_ROWS:][-_EDGE_ROWS:]

    page_rows = [_rows(lines) for lines in pages]
    seen = Counter(k for rows in page_rows for k in {key(row) for row in edges(rows)})
    repeated = max(2, (len(pages) + 1) // 2)
    for lines, rows in zip(pages, page_rows, strict=True):
        running = {
            id(line)
            for row in edges(rows)
            if seen[key(row)] >= repeated or _PAGE_NUMBER.match(_row_text(row))
            for line in row
        }
        lines[:] = [line for line in lines if id(line) not in running]


def _read(lines: list[_PageLine], full: float) -> list[_PageLine]:
    """A page's lines in reading order, a table's rows made of the cells beside each other."""
    lefts = _lefts(lines, full)
    lines = _in_order(lines, lefts, full)
    table: dict[int, _PageLine] = {}  # a member line's id: the row it is read in
    for left, column in _columns(lines, lefts).items():
        for line in column:
            line.left = left
        rows = _rows(column)
        short = [
            len([c for line in row for c in line.cells]) >= 2
            and all(c.right - c.x < _SHORT_CELL * full for line in row for c in line.cells)
            for row in rows
        ]
        for i, row in enumerate(rows):
            near = [rows[j] for j in (i - 1, i + 1) if 0 <= j < len(rows) and short[j]]
            if short[i] and any(_aligned(row, other) for other in near):
                cells = sorted((c for line in row for c in line.cells), key=lambda c: c.x)
                merged = _PageLine(row[0].page, cells, table=True, left=left)
                table.update({id(line): merged for line in row})
    read: list[_PageLine] = []
    placed: set[int] = set()
    for line in lines:
        merged = table.get(id(line), line)
        if id(merged) not in placed:
            placed.add(id(merged))
            read.append(merged)
    return read


def _lefts(lines: list[_PageLine], full: float) -> list[float]:
    """Where a page's columns of text start: the left ends of its full lines (an indented
    first line aside)."""
    lefts: list[float] = []
    for line in sorted(lines, key=lambda line: line.x):
        if line.width >= 0.8 * full and not any(line.x - x < 2 * line.size for x in lefts):
            lefts.append(line.x)
    return lefts or [min(line.x for line in lines)]


def _in_order(lines: list[_PageLine], lefts: list[float], full: float) -> list[_PageLine]:
    """A page's lines column by column: pdfminer orders text boxes by a mix of height and
    place that may read a column's top before a heading beside it. A line across the gutter
    with nothing beside it (a title, a wide table) parts the page into bands read one by one,
    each band column by column."""
    columns = _side_by_side(lines, lefts, full)
    if len(columns) < 2:
        return lines

    def column(line: _PageLine) -> int:
        return max((i for i, x in enumerate(columns) if x <= line.x + line.size), default=0)

    def spans(line: _PageLine) -> bool:
        """Whether the line reaches over a column start with no other column's line at its
        height (a heading running into the gutter has the next column's text beside it)."""
        return any(line.x < x < line.right - line.size for x in columns) and not any(
            _level(line, other) and column(other) != column(line) for other in lines
        )

    across = {id(line): line.y for line in lines if spans(line)}

    def key(item: tuple[int, _PageLine]) -> tuple[int, int, int]:
        i, line = item
        band = sum(y > line.y for y in across.values())
        return (band, -1 if id(line) in across else column(line), i)

    return [line for _, line in sorted(enumerate(lines), key=key)]


def _side_by_side(lines: list[_PageLine], lefts: list[float], full: float) -> list[float]:
    """The column starts among ``lefts`` that stand beside another column: a full line starting
    there has a full line beside it. An indented abstract or quotation of a one-column page is
    no column (nothing stands beside it), nor is a title wider than a column."""
    wide = [line for line in lines if 0.8 * full <= line.width <= 1.2 * full]
    return [
        x
        for x in lefts
        if any(abs(a.x - x) < 2 * a.size and any(_beside(a, b) for b in wide) for a in wide)
    ]


def _beside(line: _PageLine, other: _PageLine) -> bool:
    """Whether two lines stand at the same height, apart from each other."""
    return _level(line, other) and (other.x >= line.right or other.right <= line.x)


def _level(line: _PageLine, other: _PageLine) -> bool:
    """Whether two lines stand at the same height: their glyphs' heights overlap."""
    return other.y < line.y + line.size and line.y < other.y + other.size


def _columns(lines: list[_PageLine], lefts: list[float]) -> dict[float, list[_PageLine]]:
    """A page's lines by the column they stand in (a table in one column is not joined with
    lines of the other)."""
    columns: dict[float, list[_PageLine]] = {}
    for line in lines:
        left = max((x for x in lefts if x <= line.x + line.size), default=lefts[0])
        columns.setdefault(left, []).append(line)
    return columns


def _aligned(row: list[_PageLine], other: list[_PageLine]) -> bool:
    """Whether a cell of ``row`` after its first starts, ends or is centred where one of
    ``other``'s does: the two rows are a table's."""

    def edges(r: list[_PageLine]) -> list[tuple[float, float, float]]:
        cells = sorted((c for line in r for c in line.cells), key=lambda c: c.x)[1:]
        return [(c.x, c.right, (c.x + c.right) / 2) for c in cells]

    return any(
        abs(a - b) <= _ALIGNED
        for mine, theirs in itertools.product(edges(row), edges(other))
        for a, b in zip(mine, theirs, strict=True)
    )


def _compose(lines: list[_PageLine], page_count: int, body: float, full: float) -> PdfText:
    spacing = _line_spacing(lines, body)
    paragraphs: list[_Paragraph] = []
    aside: list[_PageLine] = []  # floats met while a paragraph is open: they follow it

    def start(line: _PageLine) -> None:
        for kept in aside:
            if not paragraphs or _starts_paragraph(paragraphs[-1], kept, spacing, full):
                paragraphs.append(_Paragraph())
            paragraphs[-1].lines.append(kept)
        aside.clear()
        paragraphs.append(_Paragraph([line]))

    for line in lines:
        if not paragraphs:
            start(line)
            continue
        last = paragraphs[-1].lines[-1]
        before = paragraphs[-2] if len(paragraphs) > 1 else None
        if _open(last, body) and _floats(line, last, full):
            aside.append(line)
        elif _starts_paragraph(paragraphs[-1], line, spacing, full, before):
            start(line)
        else:
            paragraphs[-1].lines.append(line)
    for kept in aside:
        if _starts_paragraph(paragraphs[-1], kept, spacing, full):
            paragraphs.append(_Paragraph())
        paragraphs[-1].lines.append(kept)
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


def _ends(line: _PageLine) -> bool:
    return line.table or bool(_ENDS_SENTENCE.search(line.text))


def _open(last: _PageLine, body: float) -> bool:
    """Whether a body paragraph ending in ``last`` is left open, to go on further down."""
    return round(last.size, 1) == body and not last.bold and not _ends(last)


def _floats(line: _PageLine, last: _PageLine, full: float) -> bool:
    """Whether ``line`` stands apart from the open paragraph ending in ``last``: a footnote, a
    table, a figure's labels or caption."""
    # A caption's middle is the column's, and it stops short of the column's right edge (a
    # reference's hanging-indent line runs to that edge, its middle near the column's too).
    centred = (
        abs((line.x + line.right) / 2 - (line.left + full / 2)) < line.size
        and line.right < line.left + full - line.size
    )
    return (
        line.size < 0.9 * last.size
        or (line.table and not last.table)
        or (not line.at_left and last.at_left and (line.width < _SHORT_CELL * full or centred))
    )


def _body_size(lines: list[_PageLine]) -> float:
    sizes: Counter[float] = Counter()
    for line in lines:
        sizes[round(line.size, 1)] += len(line.text)
    return sizes.most_common(1)[0][0] if sizes else 0.0


def _line_spacing(lines: list[_PageLine], body: float) -> float:
    """The usual distance between two body lines of one paragraph."""
    gaps = [
        a.y - b.y
        for a, b in itertools.pairwise(lines)
        if a.page == b.page and round(a.size, 1) == round(b.size, 1) == body
    ]
    gaps = [g for g in gaps if 0 < g < 3 * body]
    # The lower quartile: in a report of short paragraphs, lists and tables most gaps part
    # paragraphs, yet a quarter of them are still within one.
    return statistics.quantiles(gaps, n=4)[0] if len(gaps) >= 2 else 1.2 * body


def _full_width(lines: list[_PageLine], body: float) -> float:
    """How wide a full line of body text is: most lines of a paragraph are full."""
    widths = sorted(line.width for line in lines if round(line.size, 1) == body)
    return widths[int(0.9 * (len(widths) - 1))] if widths else 0.0


def _starts_paragraph(
    paragraph: _Paragraph,
    line: _PageLine,
    spacing: float,
    full: float,
    before: _Paragraph | None = None,
) -> bool:
    previous = paragraph.lines[-1]
    if previous.table or line.table:
        return True
    if abs(previous.size - line.size) > 0.5 or previous.bold != line.bold:
        return True
    if _LIST_MARK.match(line.text):
        return True
    ended = _ends(previous) and not line.text[:1].islower()
    short = previous.width < 0.8 * full  # a paragraph's last line seldom fills the column
    if line.page != previous.page or line.y > previous.y:  # a column or page break
        return ended and short
    if previous.y - line.y > 1.3 * spacing:
        return True
    first = paragraph.lines[0]
    if _hangs(paragraph):  # a reference list's entry goes on until a line is back at the left
        return abs(line.x - first.x) < 0.5 * line.size
    if len(paragraph.lines) == 1 and before is not None and _hangs(before):
        entry = before.lines
        if abs(first.x - entry[0].x) < 1 and abs(line.x - entry[1].x) < 1:
            return False  # the next entry of the list, at its hanging indent
    if line.x > previous.x + 0.8 * line.size:  # indented: a first line, or a hanging indent
        return ended or short or len(paragraph.lines) > 1
    return ended and short


def _hangs(paragraph: _Paragraph) -> bool:
    """Whether a paragraph's lines after the first are indented (a hanging indent)."""
    lines = paragraph.lines
    return len(lines) >= 2 and lines[1].x > lines[0].x + 0.5 * lines[1].size


def _heading_levels(paragraphs: list[_Paragraph], body: float) -> dict[int, int]:
    """Heading paragraphs (by ``id``) and their level: 1 for the largest font."""
    headings: dict[int, float] = {}
    for paragraph in paragraphs:
        first = paragraph.lines[0]
        words = sum(len(line.text.split()) for line in paragraph.lines)
        if first.table or words > _MAX_HEADING_WORDS:
            continue
        if first.size > body * 1.15 or (
            first.bold and first.at_left and not _ENDS_SENTENCE.search(paragraph.lines[-1].text)
        ):
            headings[id(paragraph)] = round(first.size, 1)
    sizes = sorted(set(headings.values()), reverse=True)
    return {key: min(6, sizes.index(size) + 1) for key, size in headings.items()}
