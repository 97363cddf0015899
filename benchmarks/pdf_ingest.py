"""PDF ingest throughput (pages per second) and peak memory, extraction timed apart from embedding.

Usage (from the project root, after ``make setup``)::

    .venv/bin/python benchmarks/pdf_ingest.py [--files 20 --pages 10]

Writes ``--files`` PDFs of ``--pages`` pages each (200 pages by default) with the maker the
tests use (``tests/pdf_maker.py``, reportlab): half in one column, half in two, each with a
running header, page numbers, hyphenated line ends and a heading hierarchy. Then, each in a
fresh process so that peak RSS is its own:

- ``extract``: ``load_document`` on every file (pdfminer.six, askdef's rules), nothing else;
- ``ingest``: ``askdef index`` as a user runs it (extract, split, chunk, embed, write), with
  the time inside the embedding model counted separately.

Prints one Markdown table row per stage: seconds, pages per second, peak RSS.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
WORDS = (
    "defence procurement demonstrator interoperability collaboration engine fighter partners "
    "export agreement government industrial programme development capability Japan Britain "
    "Italy radar sensors avionics budget schedule contract supplier research"
).split()


def write_corpus(folder: Path, files: int, pages: int) -> int:
    """The PDFs; returns how many pages they hold."""
    sys.path.insert(0, str(PROJECT / "tests"))
    from pdf_maker import PdfMaker

    rng, total = random.Random(19), 0
    for n in range(files):
        maker = PdfMaker(
            folder / f"report-{n:02d}.pdf",
            columns=1 + n % 2,
            header=f"Defence review {n} - draft",
            page_numbers=True,
            hyphenate=True,
        )
        maker.heading(f"Report {n}", 1)
        while maker.page < pages:
            maker.heading(" ".join(rng.choice(WORDS) for _ in range(3)).capitalize(), 2)
            for _ in range(4):
                sentences = (
                    " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 16))).capitalize()
                    + "."
                    for _ in range(rng.randint(2, 6))
                )
                maker.paragraph(" ".join(sentences))
        maker.canvas.setPageCompression(1)
        maker.save()
        total += maker.page
    return total


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def stage_extract(corpus: Path) -> dict[str, float]:
    from askdef.ingest.loading import load_document

    started = time.perf_counter()
    for path in sorted(corpus.glob("*.pdf")):
        load_document(path, corpus)
    return {"seconds": time.perf_counter() - started, "peak_mb": _peak_mb()}


def stage_ingest(corpus: Path, index: Path) -> dict[str, float]:
    from askdef import AskDef, Settings
    from askdef.index.embedding import Embedder

    embedding = 0.0
    embed = Embedder.embed_documents

    def timed(self: Embedder, *args: object, **kwargs: object) -> object:
        nonlocal embedding
        started = time.perf_counter()
        try:
            return embed(self, *args, **kwargs)  # type: ignore[arg-type]
        finally:
            embedding += time.perf_counter() - started

    Embedder.embed_documents = timed  # type: ignore[method-assign,assignment]
    started = time.perf_counter()
    report = AskDef(settings=Settings(corpus_dir=corpus, index_dir=index)).ingest()
    return {
        "seconds": time.perf_counter() - started,
        "embedding": embedding,
        "chunks": report.chunks,
        "embedded": report.embedded,
        "peak_mb": _peak_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--stage", choices=["extract", "ingest"], help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--index", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage == "extract":
        print(json.dumps(stage_extract(args.corpus)))
        return
    if args.stage == "ingest":
        print(json.dumps(stage_ingest(args.corpus, args.index)))
        return

    with tempfile.TemporaryDirectory() as tmp:
        corpus, index = Path(tmp) / "corpus", Path(tmp) / "index"
        corpus.mkdir()
        pages = write_corpus(corpus, args.files, args.pages)
        results = {}
        folders = ["--corpus", str(corpus), "--index", str(index)]
        for stage in ("extract", "ingest"):
            run = subprocess.run(
                [sys.executable, __file__, "--stage", stage, *folders],
                capture_output=True,
                text=True,
                check=True,
            )
            results[stage] = json.loads(run.stdout.strip().splitlines()[-1])
    extract, ingest = results["extract"], results["ingest"]
    rest = ingest["seconds"] - ingest["embedding"]
    print(f"{args.files} PDFs, {pages} pages; {ingest['chunks']} chunks\n")
    print("| stage | seconds | pages/s | peak RSS |")
    print("| --- | ---: | ---: | ---: |")
    print(
        f"| extraction alone (the PDF reader) | {extract['seconds']:.1f} | "
        f"{pages / extract['seconds']:.1f} | {extract['peak_mb']:.0f} MB |"
    )
    print(
        f"| `askdef index`, whole | {ingest['seconds']:.1f} | "
        f"{pages / ingest['seconds']:.1f} | {ingest['peak_mb']:.0f} MB |"
    )
    print(
        f"| of which embedding (chunks and sentences) | {ingest['embedding']:.1f} | "
        f"{pages / ingest['embedding']:.1f} | |"
    )
    print(f"| of which the rest (extract, split, write) | {rest:.1f} | {pages / rest:.1f} | |")


if __name__ == "__main__":
    main()
