"""Reading corpus files into ``Document``s: UTF-8 text, Markdown, and HTML (visible text)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from askdef.errors import CorpusNotFoundError, UnreadableFileError

TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES


@dataclass(frozen=True)
class Document:
    """A corpus file's text; paragraph offsets index into ``text``.

    For text and Markdown files ``text`` is the file's decoded content; for HTML it is the
    page's visible text, one block element a line.
    """

    doc_id: str
    text: str
    sha256: str


def corpus_files(corpus_dir: Path) -> list[Path]:
    """Every non-hidden file under ``corpus_dir``, sorted, whatever its type."""
    if not corpus_dir.is_dir():
        raise CorpusNotFoundError(
            f"Corpus folder {corpus_dir} does not exist: create it and put .txt, .md or .html "
            "files in it, or point ASKDEF_CORPUS_DIR at your documents."
        )
    return sorted(
        p
        for p in corpus_dir.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(corpus_dir).parts)
    )


def doc_id_of(path: Path, corpus_dir: Path) -> str:
    """The file's id: its path relative to the corpus folder with POSIX separators."""
    return path.relative_to(corpus_dir).as_posix()


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_document(path: Path, corpus_dir: Path, data: bytes | None = None) -> Document:
    """Read one file; raise ``UnreadableFileError`` for binary or non-UTF-8 content."""
    doc_id = doc_id_of(path, corpus_dir)
    if data is None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise UnreadableFileError(f"{doc_id}: cannot be read ({exc.strerror}).") from exc
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
    if path.suffix.lower() in HTML_SUFFIXES:
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
