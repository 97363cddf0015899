"""PDF files in the corpus: generated PDFs in several layouts, read, indexed, cited, edited,
and damaged ones skipped. Every check compares with the text the test put in."""

from __future__ import annotations

import io
import random
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from askdef import Answer, AskDef, Settings
from askdef.index.retrieval import page_at
from askdef.ingest.paragraphs import split_paragraphs
from askdef.ingest.pdf import pdf_text
from askdef.serve.render import sources_html
from askdef.serve.web import build_app

pytest.importorskip("reportlab")
from pdf_maker import PdfMaker

ENGINE = "Rolls-Royce will build the demonstrator engine for the Tempest fighter by 2027."
HEADER = "Defence Review 2026 - draft for comment"
_WORDS = (
    "defence procurement demonstrator interoperability collaboration engine fighter partners "
    "export agreement government industrial programme development capability Japan Britain "
    "Italy radar sensors avionics budget schedule contract supplier research"
).split()


def _paragraph(rng: random.Random, sentences: int) -> str:
    return " ".join(
        " ".join(rng.choice(_WORDS) for _ in range(rng.randint(8, 16))).capitalize() + "."
        for _ in range(sentences)
    )


def write_report(path: Path, *, columns: int = 1, engine: str = ENGINE) -> dict[str, object]:
    """A three-page report: a title, sections with subsections, a table, a running header,
    page numbers, hyphenated line ends. Returns what was put in, paragraph by paragraph."""
    rng = random.Random(columns)
    maker = PdfMaker(path, columns=columns, header=HEADER, page_numbers=True, hyphenate=True)
    put: list[tuple[str, str, int]] = []  # (section, text, first page)
    spans: list[tuple[int, int]] = []
    maker.heading("Defence cooperation report", 1)
    for section in ("Export rules", "Engines", "Budgets"):
        maker.heading(section, 2)
        for i in range(4):
            text = engine if (section, i) == ("Engines", 1) else _paragraph(rng, 5)
            first, last = maker.paragraph(text)
            put.append((section, text, first))
            spans.append((first, last))
        maker.heading(f"{section} in detail", 3)
        text = _paragraph(rng, 3)
        first, last = maker.paragraph(text)
        put.append((f"{section} in detail", text, first))
        spans.append((first, last))
    maker.table([["Partner", "Role", "Year"], ["Japan", "Engine core", "2027"]])
    put += [("Budgets in detail", "Partner | Role | Year", maker.page)]
    put += [("Budgets in detail", "Japan | Engine core | 2027", maker.page)]
    maker.save()
    return {"put": put, "spans": spans, "hyphenated": maker.hyphenated, "pages": maker.page}


@pytest.mark.parametrize("columns", [1, 2])
def test_layouts_read_back_as_the_text_put_in(tmp_path: Path, columns: int) -> None:
    made = write_report(tmp_path / "report.pdf", columns=columns)
    read = pdf_text("report.pdf", (tmp_path / "report.pdf").read_bytes())
    paragraphs = split_paragraphs("report.pdf", read.text)
    got = [(p.section, p.text, page_at(read.page_starts, p.start)) for p in paragraphs]
    assert got == made["put"]
    assert all(read.text[p.start : p.end] == p.text for p in paragraphs)
    # the layout really had what is being tested: several pages, broken and hyphenated words,
    # a paragraph that runs across a page (or column) break
    assert made["pages"] >= 2 and len(read.page_starts) == made["pages"]
    assert made["hyphenated"] and all(word in read.text for word in made["hyphenated"])
    assert any(first != last for first, last in made["spans"])  # type: ignore[attr-defined]
    assert HEADER not in read.text and "Page 1" not in read.text


def test_a_single_page_keeps_its_lines_and_drops_its_page_number(tmp_path: Path) -> None:
    maker = PdfMaker(tmp_path / "note.pdf", page_numbers=True)
    maker.heading("Note", 1)
    maker.paragraph(ENGINE)
    read = pdf_text("note.pdf", maker.save().read_bytes())
    assert read.text == f"# Note\n\n{ENGINE}" and read.page_starts == [0]


def _cli_index(corpus: Path, index: Path) -> subprocess.CompletedProcess[str]:
    folders = ["--corpus", str(corpus), "--index", str(index)]
    return subprocess.run(
        [sys.executable, "-m", "askdef.cli", *folders, "index"],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_pdfs_are_indexed_cited_with_the_page_and_updated(tmp_path: Path, embedder: object) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    made = write_report(corpus / "report.pdf")
    (corpus / "notes.txt").write_text("Japan and Britain signed the agreement in 2023.\n")
    page = next(p for s, t, p in made["put"] if t == ENGINE)  # type: ignore[attr-defined]
    settings = Settings(
        corpus_dir=corpus, index_dir=tmp_path / "index", generator="extractive", judge="none"
    )
    bot = AskDef(settings=settings)
    assert bot.ingest().added == ["notes.txt", "report.pdf"]
    answer = bot.ask("Who will build the demonstrator engine for the Tempest fighter?")
    cited = answer.citations[0]
    assert not answer.refused and cited.page == page
    paragraph = bot.paragraph("report.pdf", cited.paragraph)
    assert paragraph.text == ENGINE and paragraph.page == page
    assert cited.ref == f"report.pdf p. {page} ¶{cited.paragraph}"
    assert bot.ingest().embedded == 0  # unchanged: one hash
    _served_with_pages(bot, cited.paragraph, page)
    write_report(corpus / "report.pdf", engine="IHI will build the engine core by 2028.")
    assert (
        TestClient(build_app(bot), base_url="http://localhost").get("/files/report.pdf").status_code
        == 404
    )  # changed
    again = bot.ingest()
    assert again.updated == ["report.pdf"] and again.embedded > 0
    assert "IHI will build" in bot.paragraph("report.pdf", cited.paragraph).text


def _served_with_pages(bot: AskDef, paragraph: int, page: int) -> None:
    """The page in the API's JSON, /v1's Sources line and the sources panel; the document
    view links the original PDF at that page; only indexed PDFs are served as files."""
    (bot.settings.corpus_dir / "later.pdf").write_bytes(b"%PDF-1.4 not indexed yet")
    api = TestClient(build_app(bot), base_url="http://localhost")
    question = {"question": "Who will build the demonstrator engine for the Tempest fighter?"}
    answer = api.post("/api/ask", json=question).json()
    assert answer["citations"][0]["page"] == page
    assert answer["passages"][0]["page"] == page
    assert api.post("/api/search", json=question).json()["passages"][0]["page"] == page
    chat = {"model": "askdef", "messages": [{"role": "user", "content": question["question"]}]}
    v1 = api.post("/v1/chat/completions", json=chat).json()
    assert f"report.pdf p. {page} ¶{paragraph}" in v1["choices"][0]["message"]["content"]
    shown = Answer.model_validate(answer)
    assert f"p. {page} ¶{paragraph}" in sources_html(shown, shown.passages)

    cited = shown.citations[0]
    view = api.get("/documents/report.pdf", params={"mark": f"{cited.start}-{cited.end}"})
    assert f"<mark>{cited.quote}</mark>" in view.text
    assert f'href="../files/report.pdf#page={page}"' in view.text
    original = api.get("/files/report.pdf")
    assert original.status_code == 200 and original.headers["content-type"] == "application/pdf"
    assert original.content == (bot.settings.corpus_dir / "report.pdf").read_bytes()
    for path in (
        "/files/later.pdf",  # on disk, not in the index
        "/files/notes.txt",  # indexed, not a PDF
        "/files/../corpus/report.pdf",
        "/files/%2e%2e/corpus/report.pdf",
        f"/files/{bot.settings.corpus_dir / 'report.pdf'}",
        "/files/..%2f..%2f..%2fetc%2fpasswd",
    ):
        response = api.get(path)
        assert response.status_code == 404 and b"%PDF" not in response.content, path


def _encrypted(data: bytes) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt("secret", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _scanned(path: Path) -> None:
    """A page that is only a picture (of a page), as a scanner writes it."""
    from PIL import Image
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen.canvas import Canvas

    canvas = Canvas(str(path))
    canvas.drawImage(ImageReader(Image.new("L", (200, 280), 255)), 72, 72, 400, 560)
    canvas.save()


def test_damaged_encrypted_and_scanned_pdfs_are_skipped_with_a_message(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_report(corpus / "good.pdf")
    whole = (corpus / "good.pdf").read_bytes()
    (corpus / "cut.pdf").write_bytes(whole[: len(whole) // 3])
    (corpus / "locked.pdf").write_bytes(_encrypted(whole))
    _scanned(corpus / "scan.pdf")
    result = _cli_index(corpus, tmp_path / "index")
    assert result.returncode == 3, result.stderr
    err = result.stderr
    assert "skipped cut.pdf: cut.pdf: is not a readable PDF" in err
    assert "skipped locked.pdf: locked.pdf: is an encrypted PDF" in err
    assert "skipped scan.pdf: scan.pdf: has no text layer" in err and "does not run OCR" in err
    assert "added 1" in result.stdout and "Traceback" not in err


def _many_pages(path: Path, pages: int) -> None:
    """``pages`` pages, each with one line of text (fast: pypdf copies one page)."""
    from pypdf import PdfReader, PdfWriter

    maker = PdfMaker(path)
    maker.paragraph("A page of the catalogue.")
    page = PdfReader(io.BytesIO(maker.save().read_bytes())).pages[0]
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_page(page)
    writer.write(path)


def _only_running_lines(path: Path) -> None:
    """Three pages that hold a running header and a page number each, and nothing else."""
    maker = PdfMaker(path, header=HEADER, page_numbers=True)
    maker.new_page()
    maker.new_page()
    maker.save()


def test_pdfs_past_the_page_limit_or_without_body_text_are_skipped(
    tmp_path: Path, embedder: object
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_report(corpus / "good.pdf")
    _many_pages(corpus / "catalogue.pdf", 5_001)
    _only_running_lines(corpus / "stamped.pdf")
    report = AskDef(corpus_dir=corpus, index_dir=tmp_path / "index").ingest()
    assert report.added == ["good.pdf"]
    reasons = {s.doc_id: s.reason for s in report.skipped}
    assert reasons["catalogue.pdf"] == (
        "catalogue.pdf: has 5,001 pages, over the limit of 5,000 (ASKDEF_MAX_PDF_PAGES); not "
        "indexed: split it into smaller files, or raise the limit."
    )
    assert reasons["stamped.pdf"].startswith(
        "stamped.pdf: has no text but page numbers and lines repeated on every page"
    )
    assert "does not run OCR" in reasons["stamped.pdf"]
