"""Word files in the corpus: generated .docx files, read, indexed, cited, edited, damaged."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from askdef import AskDef, Settings
from askdef.ingest.paragraphs import split_paragraphs
from askdef.ingest.word import docx_text

docx = pytest.importorskip("docx")

ENGINE = "Rolls-Royce will build the demonstrator engine for the Tempest fighter by 2027."


def write_docx(path: Path, *, engine: str = ENGINE) -> Path:
    """A report with a heading hierarchy, body text, a list and a table with a merged cell."""
    document = docx.Document()
    document.add_heading("Defence cooperation report", level=0)
    document.add_heading("Export rules", level=1)
    document.add_paragraph("Japan eased its export rules for defence equipment in 2023.")
    document.add_paragraph(
        "The new rules allow finished equipment to be sold to partner countries."
    )
    document.add_heading("Engines", level=2)
    document.add_paragraph(engine)
    document.add_paragraph("Engines are tested in Derby", style="List Bullet")
    document.add_paragraph("Fans are tested in Bristol", style="List Bullet")
    table = document.add_table(rows=2, cols=3)
    table.cell(0, 0).merge(table.cell(0, 1)).text = "Partner"
    table.cell(0, 2).text = "Role"
    for cell, text in zip(table.rows[1].cells, ["Japan", "IHI", "Engine core"], strict=True):
        cell.text = text
    document.save(str(path))
    return path


def test_headings_become_sections_lists_items_and_table_rows_lines(tmp_path: Path) -> None:
    data = write_docx(tmp_path / "report.docx").read_bytes()
    text = docx_text("report.docx", data)
    paragraphs = split_paragraphs("report.docx", text)
    assert [(p.section, p.text) for p in paragraphs] == [
        ("Export rules", "Japan eased its export rules for defence equipment in 2023."),
        ("Export rules", "The new rules allow finished equipment to be sold to partner countries."),
        ("Engines", ENGINE),
        ("Engines", "Engines are tested in Derby"),
        ("Engines", "Fans are tested in Bristol"),
        ("Engines", "Partner | Role"),
        ("Engines", "Japan | IHI | Engine core"),
    ]
    assert all(text[p.start : p.end] == p.text for p in paragraphs)


def test_word_files_are_indexed_cited_and_updated(tmp_path: Path, embedder: object) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_docx(corpus / "report.docx")
    settings = Settings(
        corpus_dir=corpus, index_dir=tmp_path / "index", generator="extractive", judge="none"
    )
    bot = AskDef(settings=settings)
    assert bot.ingest().added == ["report.docx"]
    answer = bot.ask("Who will build the demonstrator engine for the Tempest fighter?")
    assert not answer.refused and answer.citations[0].ref == "report.docx ¶3"
    cited = answer.citations[0]
    assert bot.paragraph("report.docx", 3).text == ENGINE and cited.quote in ENGINE
    assert bot.ingest().embedded == 0  # unchanged: one hash
    write_docx(corpus / "report.docx", engine="IHI will build the engine core by 2028.")
    again = bot.ingest()
    assert again.updated == ["report.docx"] and again.embedded > 0
    assert "IHI will build" in bot.paragraph("report.docx", 3).text


def test_damaged_word_files_are_skipped_with_a_message(tmp_path: Path) -> None:
    corpus = Path(shutil.copytree(Path(__file__).resolve().parents[1] / "corpus", tmp_path / "c"))
    (corpus / "garbage.docx").write_bytes(b"PK\x03\x04 not really a zip" * 10)
    whole = write_docx(tmp_path / "whole.docx").read_bytes()
    (corpus / "cut.docx").write_bytes(whole[: len(whole) // 2])
    command = ["-m", "askdef.cli", "--corpus", str(corpus), "--index", str(tmp_path / "i")]
    result = subprocess.run(
        [sys.executable, *command, "index"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 3, result.stderr
    assert "skipped garbage.docx: garbage.docx: is not a readable Word file" in result.stderr
    assert "skipped cut.docx: cut.docx: is not a readable Word file" in result.stderr
    assert "added 2" in result.stdout and "Traceback" not in result.stderr


def write_bomb(path: Path, size: int = 20 * 2**20) -> Path:
    """A small .docx whose document.xml unzips to ``size`` bytes more than a real report's: one
    letter repeated in an XML comment, as a zip bomb is made (it deflates about 1,000 times)."""
    write_docx(path)
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    body = parts["word/document.xml"]
    at = body.index(b"<w:body>")
    parts["word/document.xml"] = body[:at] + b"<!--" + b"a" * size + b"-->" + body[at:]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path


def test_a_word_zip_bomb_is_skipped_before_it_is_unzipped(tmp_path: Path, embedder: object) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_docx(corpus / "report.docx")
    bomb = write_bomb(corpus / "bomb.docx")
    assert bomb.stat().st_size < 100_000
    report = AskDef(corpus_dir=corpus, index_dir=tmp_path / "index").ingest()
    assert report.added == ["report.docx"]
    ((doc_id, reason),) = [(s.doc_id, s.reason) for s in report.skipped]
    assert doc_id == "bomb.docx"
    assert reason.startswith("bomb.docx: is a Word file whose part word/document.xml unzips ")
    assert "times its size (to 20 MB), more than the 100 times a document does" in reason
