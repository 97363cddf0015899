"""Test PDFs with reportlab (BSD): headings, paragraphs and tables flowed into one or two
columns, optional running header and page-number footer, words hyphenated at line ends.

Text is laid out line by line with ``canvas.stringWidth``, so a test knows exactly which words
it put in and can compare them with what askdef reads back.
"""

from __future__ import annotations

from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

BODY, LEADING, GAP = 10.0, 13.0, 9.0
HEADING_SIZES = {1: 20.0, 2: 15.0, 3: 12.0}
MARGIN = 72.0
GUTTER = 18.0


class PdfMaker:
    """Flow blocks into pages; ``save()`` writes the file."""

    def __init__(
        self,
        path: Path,
        *,
        columns: int = 1,
        header: str | None = None,
        page_numbers: bool = False,
        hyphenate: bool = False,
    ) -> None:
        self.path = path
        self.canvas = Canvas(str(path), pagesize=A4)
        self.width, self.height = A4
        self.columns = columns
        self.header = header
        self.page_numbers = page_numbers
        self.hyphenate = hyphenate
        self.page = 1
        self.column = 0
        self.y = self.height - MARGIN
        self.hyphenated: list[str] = []  # words the maker split at a line end
        self._decorate()

    @property
    def column_width(self) -> float:
        usable = self.width - 2 * MARGIN - GUTTER * (self.columns - 1)
        return usable / self.columns

    @property
    def x(self) -> float:
        return MARGIN + self.column * (self.column_width + GUTTER)

    def _decorate(self) -> None:
        self.canvas.setFont("Helvetica", 8)
        if self.header:
            self.canvas.drawString(MARGIN, self.height - 40, self.header)
        if self.page_numbers:
            self.canvas.drawCentredString(self.width / 2, 36, f"Page {self.page}")

    def _advance(self, height: float) -> None:
        """Move down ``height``; go to the next column or page when it does not fit."""
        if self.y - height < MARGIN:
            self.column += 1
            if self.column == self.columns:
                self.new_page()
            else:
                self.y = self.height - MARGIN
        self.y -= height

    def new_page(self) -> None:
        self.canvas.showPage()
        self.page += 1
        self.column = 0
        self.y = self.height - MARGIN
        self._decorate()

    def heading(self, text: str, level: int = 1) -> None:
        size = HEADING_SIZES[level]
        self.y -= GAP
        self._advance(size * 1.3)
        self.canvas.setFont("Helvetica-Bold", size)
        self.canvas.drawString(self.x, self.y, text)

    def paragraph(self, text: str) -> tuple[int, int]:
        """Draw ``text``; the pages its first and last lines are on."""
        self.y -= GAP
        pages = []
        for line in self._wrap(text):
            self._advance(LEADING)
            self.canvas.setFont("Helvetica", BODY)
            self.canvas.drawString(self.x, self.y, line)
            pages.append(self.page)
        return pages[0], pages[-1]

    def table(self, rows: list[list[str]]) -> None:
        self.y -= GAP
        cell = self.column_width / max(len(r) for r in rows)
        for row in rows:
            self._advance(LEADING + 3)
            self.canvas.setFont("Helvetica", BODY)
            for i, text in enumerate(row):
                self.canvas.drawString(self.x + i * cell, self.y, text)

    def _wrap(self, text: str) -> list[str]:
        def fits(s: str) -> bool:
            return self.canvas.stringWidth(s, "Helvetica", BODY) <= self.column_width

        lines, current = [], ""
        for word in text.split():
            trial = f"{current} {word}".strip()
            if fits(trial):
                current = trial
                continue
            if self.hyphenate and len(word) >= 8 and word.isalpha():
                cut = next(
                    (i for i in range(len(word) - 3, 3, -1) if fits(f"{current} {word[:i]}-")),
                    None,
                )
                if cut is not None:
                    lines.append(f"{current} {word[:cut]}-".strip())
                    self.hyphenated.append(word)
                    current = word[cut:]
                    continue
            lines.append(current)
            current = word
        lines.append(current)
        return [line for line in lines if line]

    def save(self) -> Path:
        self.canvas.save()
        return self.path
