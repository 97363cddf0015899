"""Build the layout test PDFs from their sources, as people make PDFs: run once after editing a
source, then commit the PDFs (the tests and ``benchmarks/pdf_layout.py`` read the committed
files, so neither needs these tools).

Usage (from the project root)::

    .venv/bin/python tests/data/pdfs/build.py

Needs ``pdflatex`` (Debian: texlive-latex-base, texlive-latex-recommended,
texlive-fonts-recommended), ``soffice`` (libreoffice-writer-nogui) and Chromium
(``/usr/bin/chromium``, driven by Playwright as in ``tests/test_browser.py``).

Each ``NAME.paragraphs.txt`` beside a source is written by hand from it: the paragraphs a reader
should get, in reading order, separated by blank lines; ``# `` starts a heading (its text the
section of what follows); a table row is its cells joined by `` | ``. Running headers, page
numbers, footnote marks and a figure's inside labels are not paragraphs.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"


def latex(source: Path, out: Path) -> None:
    """pdflatex twice (the second run resolves the figure and table numbers)."""
    for _ in range(2):
        subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", source.name],
            cwd=out,
            check=True,
            capture_output=True,
        )


def writer(source: Path, out: Path) -> None:
    """LibreOffice Writer's PDF export of an HTML file opened as a Writer document."""
    subprocess.run(
        [
            "soffice",
            "--headless",
            "--infilter=HTML (StarWriter)",
            "--convert-to",
            "pdf:writer_pdf_Export",
            "--outdir",
            str(out),
            str(out / source.name),
        ],
        check=True,
        capture_output=True,
    )


def chromium(source: Path, out: Path) -> None:
    """Chromium's print to PDF (A4, the page's own margins, no browser header or footer)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.goto((out / source.name).as_uri())
        page.pdf(
            path=str(out / f"{source.stem}.pdf"),
            format="A4",
            margin={"top": "2cm", "bottom": "2cm", "left": "1.5cm", "right": "1.5cm"},
        )
        browser.close()


BUILDERS = {
    "paper-onecolumn.tex": latex,
    "paper-twocolumn.tex": latex,
    "report-writer.html": writer,
    "webpage-chromium.html": chromium,
}


def main() -> None:
    for name, build in BUILDERS.items():
        source = HERE / name
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            shutil.copy(source, out)
            build(source, out)
            shutil.copy(out / f"{source.stem}.pdf", HERE / f"{source.stem}.pdf")
        print(f"{source.stem}.pdf: {(HERE / f'{source.stem}.pdf').stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
