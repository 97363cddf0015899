"""How well askdef reads PDFs as people make them: its paragraphs against the source's.

Usage (from the project root)::

    .venv/bin/python benchmarks/pdf_layout.py

Reads the committed PDFs of ``tests/data/pdfs/`` (pdflatex in one and two columns, a
LibreOffice Writer export, a Chromium print; ``tests/data/pdfs/build.py`` makes them from their
sources) and two reportlab PDFs written here with ``tests/pdf_maker.py`` (one and two columns,
running header, page numbers, hyphenated line ends, a table). Each PDF's paragraphs as its
author wrote them are in ``NAME.paragraphs.txt`` (for reportlab, what the maker was given), so
nothing is scored by askdef's own reading. Per PDF:

- ``whole``: share of the source's body paragraphs (headings aside) that askdef reads as one
  paragraph with exactly their words (a table row counts with its cells joined by ``|``);
- ``F1``: word-level F1 of all the words read against all the source's words (bags of words);
- ``split`` / ``glued``: words read in two pieces (``comprehe nsive``) or two words read as
  one (``thebook``);
- ``order``: share of consecutive source paragraphs found in the same order in the reading;
- ``sections``: share of body paragraphs under a heading that askdef files under that
  heading (``askdef.ingest.paragraphs``, as search and citations show it);
- ``false sections``: section names askdef makes that are no heading of the source (a
  figure's labels, a line of a table).
"""

from __future__ import annotations

import itertools
import random
import re
import sys
import tempfile
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
CORPUS = PROJECT / "tests" / "data" / "pdfs"
sys.path.insert(0, str(PROJECT / "benchmarks"))
sys.path.insert(0, str(PROJECT / "tests"))

from measured import commit  # noqa: E402

_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"'})
_BULLET = re.compile(r"^[•·▪◦‣*+\-–—]\s+")
_WORD = re.compile(r"\w+(?:['-]\w+)*")


@dataclass(frozen=True)
class Source:
    """A source's paragraphs in reading order, each with the heading it stands under."""

    paragraphs: list[tuple[str | None, str]]  # (section, text); headings are not in it
    headings: list[str]


def parse_source(text: str) -> Source:
    """``NAME.paragraphs.txt``: blank-line separated paragraphs, ``# `` starting a heading."""
    section: str | None = None
    paragraphs: list[tuple[str | None, str]] = []
    headings: list[str] = []
    for block in re.split(r"\n\s*\n", text.strip()):
        block = " ".join(block.split())
        if block.startswith("# "):
            section = block[2:]
            headings.append(section)
        elif block:
            paragraphs.append((section, block))
    return Source(paragraphs, headings)


def norm(text: str) -> str:
    """Compared as equal: whitespace runs, typographic quotes, a list item's bullet glyph."""
    text = unicodedata.normalize("NFC", text).translate(_QUOTES)
    return _BULLET.sub("", " ".join(text.split()))


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(norm(text))]


@dataclass
class Score:
    name: str
    whole: float
    f1: float
    split: int
    glued: int
    order: float
    sections: float
    false_sections: list[str]


def score(name: str, source: Source, read: str) -> Score:
    from askdef.ingest.paragraphs import split_paragraphs

    blocks = [b.strip() for b in re.split(r"\n\s*\n", read) if b.strip()]
    body = [norm(b) for b in blocks if not b.startswith("#")]
    wanted = [norm(text) for _, text in source.paragraphs]
    read_set = Counter(body)
    whole = sum(1 for w in wanted if read_set[w] > 0) / len(wanted)

    source_words = [w for _, text in source.paragraphs for w in words(text)]
    source_words += [w for h in source.headings for w in words(h)]
    read_words = [w for b in blocks for w in words(b.lstrip("#"))]
    overlap = sum((Counter(source_words) & Counter(read_words)).values())
    precision, recall = overlap / max(1, len(read_words)), overlap / max(1, len(source_words))
    f1 = 2 * precision * recall / max(1e-9, precision + recall)

    vocabulary = set(source_words)
    split = glued = 0
    for i, w in enumerate(read_words):
        if w in vocabulary:
            continue
        if i + 1 < len(read_words) and w + read_words[i + 1] in vocabulary:
            split += 1
        elif any(w[:k] in vocabulary and w[k:] in vocabulary for k in range(1, len(w))):
            glued += 1

    stream = " ".join(read_words)
    positions = [stream.find(" ".join(words(text)[:6])) for _, text in source.paragraphs]
    found = [p for p in positions if p >= 0]
    pairs = list(itertools.pairwise(found))
    order = sum(a < b for a, b in pairs) / max(1, len(pairs))

    paragraphs = split_paragraphs(name, read, marked_headings_only=True)
    section_of = {norm(p.text): p.section for p in paragraphs}
    headed = [(s, norm(t)) for s, t in source.paragraphs if s is not None and norm(t) in section_of]
    right = sum(1 for s, t in headed if norm((section_of[t] or "").lstrip("# ")) == norm(s))
    known = {norm(h) for h in source.headings}
    false = sorted(
        {p.section for p in paragraphs if p.section and norm(p.section.lstrip("# ")) not in known}
    )
    return Score(name, whole, f1, split, glued, order, right / max(1, len(headed)), false)


def reportlab_cases(folder: Path) -> list[tuple[str, Path, Source]]:
    """Two PDFs from the tests' maker, in one and two columns, with what went into them."""
    from pdf_maker import PdfMaker

    vocabulary = (
        "the committee reviewed procurement interoperability schedules while partners "
        "discussed demonstrator capability budgets and export agreements for radar sensors "
        "avionics suppliers research contracts industrial development programmes"
    ).split()
    cases = []
    for columns in (1, 2):
        rng = random.Random(columns)
        path = folder / f"reportlab-{columns}col.pdf"
        maker = PdfMaker(
            path, columns=columns, header="Programme review", page_numbers=True, hyphenate=True
        )
        lines = ["# Programme review"]
        maker.heading("Programme review", 1)
        for n in range(1, 4):
            maker.heading(f"Part {n}", 2)
            lines.append(f"# Part {n}")
            for _ in range(4):
                text = " ".join(
                    " ".join(rng.choice(vocabulary) for _ in range(rng.randint(8, 14))).capitalize()
                    + "."
                    for _ in range(rng.randint(2, 5))
                )
                maker.paragraph(text)
                lines.append(text)
            rows = [
                ["Partner", "Share", "Budget"],
                ["Britain", f"4{n}", "1,200"],
                ["Italy", "25", f"75{n}"],
            ]
            maker.table(rows)
            lines += [" | ".join(row) for row in rows]
        maker.save()
        cases.append((path.name, path, parse_source("\n\n".join(lines))))
    return cases


def main() -> None:
    from askdef.ingest.pdf import pdf_text

    with tempfile.TemporaryDirectory() as tmp:
        cases = [
            (pdf.name, pdf, parse_source(pdf.with_suffix(".paragraphs.txt").read_text("utf-8")))
            for pdf in sorted(CORPUS.glob("*.pdf"))
        ] + reportlab_cases(Path(tmp))
        scores = [
            score(name, source, pdf_text(name, path.read_bytes()).text)
            for name, path, source in cases
        ]
    print(f"commit {commit()}\n")
    print("| PDF | whole | F1 | split | glued | order | sections | false sections |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for s in scores:
        false = "; ".join(f"`{f[:40]}`" for f in s.false_sections) or "none"
        print(
            f"| {s.name} | {s.whole:.0%} | {s.f1:.3f} | {s.split} | {s.glued} | {s.order:.0%} | "
            f"{s.sections:.0%} | {false} |"
        )
    total = sum(len(source.paragraphs) for _, _, source in cases)
    recovered = sum(s.whole * len(c[2].paragraphs) for s, c in zip(scores, cases, strict=True))
    print(f"\nall: {recovered / total:.1%} of {total} source paragraphs read whole")


if __name__ == "__main__":
    main()
