"""PDFs made the way people make them (pdflatex in one and two columns, a LibreOffice Writer
export, a Chromium print; ``tests/data/pdfs/``) read as their authors wrote them. Each check
compares the paragraphs askdef indexes with the paragraphs of the PDF's source, written by hand
in ``NAME.paragraphs.txt``."""

from __future__ import annotations

from pathlib import Path

import pytest

from askdef.ingest.loading import load_document

PDFS = Path(__file__).parent / "data" / "pdfs"
NAMES = ("paper-onecolumn", "paper-twocolumn", "report-writer", "webpage-chromium")

Paragraphs = list[tuple[str | None, str]]  # (section, text), in reading order


def _read(name: str) -> Paragraphs:
    """The paragraphs askdef indexes from the PDF, each with its section."""
    paragraphs = load_document(PDFS / f"{name}.pdf", PDFS).paragraphs()
    return [(p.section, " ".join(p.text.split())) for p in paragraphs]


def _source(name: str) -> Paragraphs:
    """The source's body paragraphs, each with the heading above it."""
    section: str | None = None
    paragraphs: Paragraphs = []
    for block in (PDFS / f"{name}.paragraphs.txt").read_text("utf-8").split("\n\n"):
        if block.startswith("# "):
            section = block[2:].strip()
        elif block.strip():
            paragraphs.append((section, " ".join(block.split())))
    return paragraphs


def _in_section(paragraphs: Paragraphs, *sections: str) -> Paragraphs:
    return [(s, t) for s, t in paragraphs if s in sections]


def _in_order(wanted: Paragraphs, got: Paragraphs) -> bool:
    """Whether ``wanted`` are all in ``got``, in the same order (others may stand between)."""
    rest = iter(got)
    return all(paragraph in rest for paragraph in wanted)


def test_a_two_column_paper_is_read_column_by_column() -> None:
    # Section 3's second paragraph runs from the foot of the left column, past a footnote and a
    # figure, to the top of the right one; sections 3 to 5 stand in both columns.
    sections = ("3 Rules Compared", "4 Results", "5 Discussion")
    wanted = _in_section(_source("paper-twocolumn"), *sections)
    assert _in_order(wanted, _in_section(_read("paper-twocolumn"), *sections))


def test_words_broken_at_a_line_end_are_read_whole() -> None:
    onecolumn = " ".join(text for _, text in _read("paper-onecolumn"))
    twocolumn = " ".join(text for _, text in _read("paper-twocolumn"))
    assert "In Proceedings of the USENIX Annual Technical Conference" in onecolumn
    assert "Understanding and enhancing the public’s behavioural response" in twocolumn


@pytest.mark.parametrize("name", ["paper-onecolumn", "paper-twocolumn"])
def test_a_reference_list_gives_one_entry_per_paragraph(name: str) -> None:
    assert _in_section(_read(name), "References") == _in_section(_source(name), "References")


@pytest.mark.parametrize("name", NAMES)
def test_only_headings_name_sections(name: str) -> None:
    # A figure's labels ("Verifier 1", "Archive") and a table's header row are short lines too.
    headings = {section for section, _ in _source(name)}
    assert {section for section, _ in _read(name)} <= headings | {None}


@pytest.mark.parametrize("name", NAMES)
def test_a_table_keeps_its_rows(name: str) -> None:
    rows = [(s, t) for s, t in _source(name) if " | " in t]
    assert rows and _in_order(rows, _read(name))
