"""Splitting a document's text into citable paragraphs, dropping web-page debris.

Rules are generic (they would work on any scraped article), applied line by line:

- debris lines are dropped: comment counters, subscribe/newsletter prompts, share widgets,
  "read more"/"related" links, copyright footers, photo credits, separators;
- short title-like lines (few words, no sentence-ending punctuation, or a Markdown heading;
  never a table row)
  become the ``section`` of the paragraphs below them; of several title lines in a row only the
  last is kept, since the earlier ones are captions, labels or the page's own title; for a PDF
  only its Markdown heading lines do (``marked_headings_only``): its reader decided them from
  font size and weight, and a figure's labels are short lines too;
- a line that continues a hard-wrapped sentence joins the paragraph above it;
- each list item is its own paragraph, its bullet left out of the offsets;
- a paragraph over ``MAX_PARAGRAPH_CHARS`` (text without line breaks: an extracted page, a
  log) is cut after a sentence into paragraphs that size, so that scoring a paragraph's
  sentences, which search and every answer do, costs the same whatever the document holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from askdef.text import sentence_spans
from askdef.types import Paragraph

MAX_PARAGRAPH_CHARS = 1500  # the bundled corpus's longest is 1,079; SQuAD's 99th percentile 2,060

_MAX_TITLE_WORDS = 14
_MAX_TITLE_CHARS = 120
_MAX_DEBRIS_WORDS = 25
_SHORT_TITLE_WORDS = 6  # shorter lines may be sentence case

_MD_HEADING = re.compile(r"^#{1,6}\s+")
_BULLET = re.compile(r"^[•·▪◦‣*+\-–—]\s+")
_SENTENCE_END = re.compile(r"[.!?;,…][\"”’')\]]*$")
_DEBRIS = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"^showing \d+ comments?$",
        r"^\d+ (comments?|responses?|replies|shares?|likes?|views?)$",
        r"^(no comments( yet)?|leave a (comment|reply)|post a comment|add a comment)\b",
        r"^subscribe\b",
        r"\bsubscribe\b.*\b(newsletter|e-?mail|inbox|posts|updates)\b",
        r"\b(newsletter|e-?mail|inbox)\b.*\bsubscribe\b",
        r"^discover more from\b",
        r"^(share|share this( post| article)?|share on \w+|click to share\b.*|tweet|pin it|"
        r"like this|like|loading|related( posts| articles| stories)?|continue reading\b.*|"
        r"read more\b.*|follow us\b.*|advertisement|sponsored( content)?|print|email)\W*$",
        r"^(©|\(c\)|copyright\b|all rights reserved)",
        r"^(photo|image|picture|illustration|caption)( credit)?s?\s*(:|\||by\b)",
        r"^(credit|source)s?\s*:\s*\S.{0,60}$",
        r"^(posted|published|updated) (on|by)\b.{0,60}$",
    )
]
_NO_WORDS = re.compile(r"^[\W_]*$")


@dataclass(frozen=True)
class _Line:
    kind: str  # "blank" | "debris" | "title" | "item" | "body"
    text: str
    start: int
    end: int


def _is_debris(text: str) -> bool:
    if _NO_WORDS.match(text):
        return True
    if len(text.split()) > _MAX_DEBRIS_WORDS:
        return False
    return any(p.search(text) for p in _DEBRIS)


def _is_title(text: str, next_text: str) -> bool:
    if _MD_HEADING.match(text):
        return True
    if " | " in text:
        return False  # a table row (Word's, as askdef.ingest.word writes it, or Markdown's)
    words = text.split()
    if len(text) > _MAX_TITLE_CHARS or len(words) > _MAX_TITLE_WORDS:
        return False
    if not (text[0].isupper() or text[0].isdigit()) or next_text[:1].islower():
        return False  # a line the next one continues is a wrapped sentence
    if not (len(words) <= _SHORT_TITLE_WORDS or _is_title_case(text)):
        return False
    if text.endswith("?"):
        return _is_title_case(text)
    return text.endswith(":") or not _SENTENCE_END.search(text)


def _is_title_case(text: str) -> bool:
    long_words = [w for w in text.split() if len(w) > 3]
    return sum(w[0].isupper() for w in long_words) * 2 >= len(long_words)


def _lines(text: str, marked_headings_only: bool) -> Iterator[_Line]:
    raw_lines: list[tuple[str, int, int]] = []
    offset = 0
    for raw in text.splitlines(keepends=True):
        body = raw.rstrip("\r\n")
        stripped = body.strip()
        start = offset + len(body) - len(body.lstrip())
        raw_lines.append((stripped, start, start + len(stripped)))
        offset += len(raw)

    previous: _Line | None = None
    for i, (stripped, start, end) in enumerate(raw_lines):
        next_text = raw_lines[i + 1][0] if i + 1 < len(raw_lines) else ""
        if not stripped:
            line = _Line("blank", "", start, start)
        elif _is_debris(stripped):
            line = _Line("debris", stripped, start, end)
        elif bullet := _BULLET.match(stripped):
            line = _Line("item", stripped[bullet.end() :], start + bullet.end(), end)
        elif (
            previous is not None
            and previous.kind in ("body", "item")
            and not _SENTENCE_END.search(previous.text)
            and not previous.text.endswith(":")
        ):
            line = _Line("continuation", stripped, start, end)
        elif (
            _MD_HEADING.match(stripped) if marked_headings_only else _is_title(stripped, next_text)
        ):
            line = _Line("title", _MD_HEADING.sub("", stripped).rstrip(":").strip(), start, end)
        else:
            line = _Line("body", stripped, start, end)
        yield line
        if line.kind == "continuation" and previous is not None:
            previous = _Line(previous.kind, stripped, start, end)
        elif line.kind != "debris":
            previous = line


def split_paragraphs(
    doc_id: str, text: str, *, marked_headings_only: bool = False
) -> list[Paragraph]:
    """The document's paragraphs in order, numbered from 1, with offsets into ``text``; with
    ``marked_headings_only`` (a PDF's text) only Markdown heading lines make sections."""
    spans: list[tuple[str | None, int, int]] = []
    section: str | None = None
    pending_title: str | None = None
    for line in _lines(text, marked_headings_only):
        if line.kind == "title":
            pending_title = line.text
        elif line.kind == "continuation" and spans:
            sec, start, _ = spans[-1]
            spans[-1] = (sec, start, line.end)
        elif line.kind in ("body", "item", "continuation"):
            if pending_title is not None:
                section, pending_title = pending_title, None
            spans.append((section, line.start, line.end))
    bounded = [(sec, a, b) for sec, start, end in spans for a, b in _bounded(text, start, end)]
    return [
        Paragraph(
            doc_id=doc_id, paragraph=i, section=sec, text=text[start:end], start=start, end=end
        )
        for i, (sec, start, end) in enumerate(bounded, start=1)
    ]


def _bounded(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """``text[start:end]`` in pieces of at most ``MAX_PARAGRAPH_CHARS``, each cut after a
    sentence (a sentence longer than that is cut between words)."""
    if end - start <= MAX_PARAGRAPH_CHARS:
        yield start, end
        return
    piece: tuple[int, int] | None = None
    for a, b in sentence_spans(text[start:end]):
        a, b = a + start, b + start
        if piece is not None and b - piece[0] <= MAX_PARAGRAPH_CHARS:
            piece = (piece[0], b)
            continue
        if piece is not None:
            yield piece
        if b - a <= MAX_PARAGRAPH_CHARS:
            piece = (a, b)
            continue
        piece = None
        while b - a > MAX_PARAGRAPH_CHARS:
            space = text.rfind(" ", a + 1, a + MAX_PARAGRAPH_CHARS)
            cut = space if space > a else a + MAX_PARAGRAPH_CHARS
            yield a, cut
            a = cut
            while a < b and text[a].isspace():
                a += 1
        if a < b:
            piece = (a, b)
    if piece is not None:
        yield piece
