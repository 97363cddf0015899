"""Reading corpus files into ``Document``s: UTF-8 text, Markdown, HTML (visible text), Word
(``askdef.ingest.word``) and PDF (``askdef.ingest.pdf``)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
from collections import Counter, deque
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from askdef.errors import CorpusNotFoundError, FileTooLargeError, UnreadableFileError
from askdef.ingest.paragraphs import split_paragraphs
from askdef.settings import MAX_FILE_CHARS, MAX_PDF_PAGES
from askdef.types import Paragraph, SkippedFile

TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
WORD_SUFFIXES = frozenset({".docx"})
PDF_SUFFIXES = frozenset({".pdf"})
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | WORD_SUFFIXES | PDF_SUFFIXES
SUPPORTED_TYPES = ".txt, .md, .html, .docx or .pdf"  # how messages name them


def unsupported_reason(path: Path) -> str:
    """Why a corpus file of a type askdef does not read is not indexed, and what to do."""
    kind = f"{path.suffix.lower()} " if path.suffix else "a file without an extension, "
    return (
        f"unsupported file type ({kind.strip(', ')}): askdef reads {SUPPORTED_TYPES} files; "
        "convert it to one of those (export or print it as PDF, or save it as text), or move "
        "it out of the corpus folder"
    )


@dataclass(frozen=True)
class Document:
    """A corpus file's text; paragraph offsets index into ``text``.

    For text and Markdown files ``text`` is the file's decoded content; for HTML it is the
    page's visible text, one block element a line; for Word and PDF files what
    ``askdef.ingest.word`` and ``askdef.ingest.pdf`` read. ``page_starts`` holds, for a PDF, the
    offset in ``text`` where each page begins (empty for formats without pages).
    """

    doc_id: str
    text: str
    sha256: str
    page_starts: tuple[int, ...] = ()

    def paragraphs(self) -> list[Paragraph]:
        """The citable paragraphs, as indexed. A PDF's sections come only from the headings its
        reader marked by font size and weight: a figure's labels are short lines too."""
        return split_paragraphs(self.doc_id, self.text, marked_headings_only=bool(self.page_starts))


@dataclass(frozen=True)
class CorpusFiles:
    """What the corpus walk found: the files to read, and the links it would not follow."""

    files: list[Path]
    skipped: list[SkippedFile]


def corpus_files(corpus_dir: Path) -> CorpusFiles:
    """Every non-hidden file under ``corpus_dir``, sorted, whatever its type.

    Hidden files and folders (a name starting with ``.``: ``.git``, ``.DS_Store``, editors'
    swap files) are not corpus files: never listed, read or reported.

    The corpus folder is a boundary: a link is followed only when its target is inside it, so
    a link cannot publish a file from elsewhere; links that leave it, and broken ones, are
    skipped with the reason. Each real file and folder is listed once, under its own path when
    it has one, so a link to an ancestor folder neither loops nor indexes a file twice.

    A hard link is a name like any other, and nothing tells which of a file's names came
    first: a file with more names (``st_nlink``) than the walk found inside the corpus has a
    name elsewhere (or hidden), so it may be a file from outside linked in, and is skipped
    with the reason as a symbolic link out would be. A file hard-linked twice inside the
    corpus is indexed under both names.
    """
    if not corpus_dir.is_dir():
        raise CorpusNotFoundError(
            f"Corpus folder {corpus_dir} does not exist: create it and put {SUPPORTED_TYPES} "
            "files in it, or point ASKDEF_CORPUS_DIR at your documents."
        )
    root = _real(corpus_dir)
    files: list[Path] = []
    skipped: list[SkippedFile] = []
    seen: set[Path] = set()  # real paths already listed or walked
    paths, links = deque([corpus_dir]), deque[Path]()  # links wait, so a target's own path wins
    while paths or links:
        path = paths.popleft() if paths else links.popleft()
        real = _real(path)
        if real in seen:
            continue
        seen.add(real)
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            entries, problem = _listing(path)
            if problem:
                skipped.append(SkippedFile(doc_id=doc_id_of(path, corpus_dir), reason=problem))
            for entry in entries:
                if not entry.is_symlink():
                    paths.append(entry)
                elif reason := _link_problem(entry, root):
                    skipped.append(SkippedFile(doc_id=doc_id_of(entry, corpus_dir), reason=reason))
                else:
                    links.append(entry)
    outside = _linked_from_outside(files)
    skipped += [
        SkippedFile(doc_id=doc_id_of(path, corpus_dir), reason=reason)
        for path, reason in outside.items()
    ]
    files = [path for path in files if path not in outside]
    return CorpusFiles(files=sorted(files), skipped=sorted(skipped, key=lambda s: s.doc_id))


def _linked_from_outside(files: list[Path]) -> dict[Path, str]:
    """The files of ``files`` with a hard link that is not among them, and why each is skipped."""
    stats = {}
    for path in files:
        with contextlib.suppress(OSError):  # gone, or unreadable: reading it will say so
            stats[path] = path.stat()
    names = Counter((st.st_dev, st.st_ino) for st in stats.values())
    return {
        path: (
            f"is a hard link to a file with {st.st_nlink - names[st.st_dev, st.st_ino]} other "
            "name(s) outside the corpus folder (or hidden in it); not indexed: copy the file "
            "into the corpus instead of linking it"
        )
        for path, st in stats.items()
        if stat.S_ISREG(st.st_mode) and st.st_nlink > names[st.st_dev, st.st_ino]
    }


def _listing(folder: Path) -> tuple[list[Path], str | None]:
    """The folder's non-hidden entries, or why it cannot be listed.

    Sorted, so which of two links to one target gets listed does not depend on the disk.
    """
    try:
        return sorted(p for p in folder.iterdir() if not p.name.startswith(".")), None
    except OSError as exc:
        return [], f"is a folder that cannot be read ({exc.strerror}); nothing under it is indexed"


def _real(path: Path) -> Path:
    # os.path.realpath, unlike Path.resolve on Python 3.11, does not raise on a link loop.
    return Path(os.path.realpath(path))


def _link_problem(link: Path, root: Path) -> str | None:
    """Why ``link`` is not followed; None when its target exists inside ``root``."""
    target = _real(link)
    if not target.exists():
        return f"is a broken link (to {os.readlink(link)}); not indexed"
    if target.is_relative_to(root):
        return None
    if target.is_dir():
        return (
            f"is a link to a folder outside the corpus folder ({target}); "
            "nothing under it is indexed"
        )
    return f"is a link to a file outside the corpus folder ({target}); not indexed"


def doc_id_of(path: Path, corpus_dir: Path) -> str:
    """The file's id: its path relative to the corpus folder with POSIX separators."""
    return path.relative_to(corpus_dir).as_posix()


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_document(
    path: Path,
    corpus_dir: Path,
    data: bytes | None = None,
    *,
    max_chars: int = MAX_FILE_CHARS,
    max_pages: int = MAX_PDF_PAGES,
) -> Document:
    """Read one file; raise ``UnreadableFileError`` for binary or non-UTF-8 content, and
    ``FileTooLargeError`` when its text is over ``max_chars`` characters, a PDF has over
    ``max_pages`` pages, or a Word file's parts unzip to more than a document does."""
    doc_id = doc_id_of(path, corpus_dir)
    if data is None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise UnreadableFileError(f"{doc_id}: cannot be read ({exc.strerror}).") from exc
    document = _read(doc_id, path.suffix.lower(), data, max_chars, max_pages)
    if len(document.text) > max_chars:
        raise FileTooLargeError(
            f"{doc_id}: holds {len(document.text):,} characters of text, over the limit of "
            f"{max_chars:,} (ASKDEF_MAX_FILE_CHARS); not indexed: split it into smaller "
            "files, or raise the limit."
        )
    return document


def _read(doc_id: str, suffix: str, data: bytes, max_chars: int, max_pages: int) -> Document:
    if suffix in WORD_SUFFIXES:
        from askdef.ingest.word import docx_text

        return Document(doc_id=doc_id, text=docx_text(doc_id, data), sha256=sha256_of(data))
    if suffix in PDF_SUFFIXES:
        from askdef.ingest.pdf import pdf_text

        read = pdf_text(doc_id, data, max_pages=max_pages, max_chars=max_chars)
        return Document(
            doc_id=doc_id,
            text=read.text,
            sha256=sha256_of(data),
            page_starts=tuple(read.page_starts),
        )
    if b"\x00" in data:
        raise UnreadableFileError(
            f"{doc_id}: looks binary (it contains NUL bytes); convert it to text or remove it."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFileError(
            f"{doc_id}: is not UTF-8 (bad byte at offset {exc.start}); re-save it as UTF-8."
        ) from exc
    if suffix in HTML_SUFFIXES:
        text = html_to_text(text)
    return Document(doc_id=doc_id, text=text, sha256=sha256_of(data))


_BLOCK_TAGS = frozenset(
    (
        "address article aside blockquote br dd div dl dt figcaption figure footer form h1 h2 "
        "h3 h4 h5 h6 header hr li main nav ol p pre section table td th tr ul"
    ).split()
)
_SKIPPED_TAGS = frozenset({"script", "style", "noscript", "template", "svg", "nav", "head"})


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skip_depth += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """Visible text of an HTML page, one block element a line, blank lines between blocks."""
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).split("\n"))
    return "\n\n".join(line for line in lines if line)
