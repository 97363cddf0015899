"""The one output policy: everything askdef shows or returns is made safe here.

Model text, document text and LLM error bodies are untrusted.

- ``plain``: Markdown reduced to its words by a real parser (markdown-it-py): HTML is dropped,
  images become their alt text and links their text; emphasis, code and list markers stay.
  What is left is escaped so that no Markdown renderer (the chat's, or a client's) can build
  HTML, an image or a link from it, a bare address included (``http:/\\/evil.example``
  renders as ``http://evil.example``, as text: the only links askdef shows are its own).
  This is the text of every ``Answer``, notice, error message and chat line askdef returns
  or shows.
- ``StreamEscaper``: the escaping of ``plain`` alone, for the raw deltas ``/api/ask`` streams.
- ``clean_html``: askdef's own HTML (the sources panel) through nh3, a maintained sanitizer,
  with an allowlist of tags and attributes, links to http(s) or relative URLs only.

The chat page's Content-Security-Policy (``askdef.serve.http_guard``) forbids external images,
frames and scripts as a second line: a gap here still could not load anything.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

ALLOWED_TAGS = frozenset("div section header h4 p span mark a".split())  # the sources panel's
_ATTRIBUTES = {"a": {"href", "title", "target"}, "*": {"class", "id"}}
_BLOCK_BREAKS = {"paragraph_close", "heading_close", "code_block", "fence", "hr"}
_EMAIL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-")


@functools.cache
def _parser() -> MarkdownIt:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True})  # HTML on, so that it is found and dropped


def _inline_text(tokens: list[Token]) -> str:
    """An inline run as Markdown that keeps only emphasis and code: link and image syntax
    goes (their text stays), HTML goes, and the text is escaped."""
    out: list[str] = []
    for token in tokens:
        if token.type in ("text", "image"):  # an image's content is its alt text
            out.append(_escape(token.content, preceding="".join(out[-3:])[-3:]))
        elif token.type == "code_inline":  # inside code nothing is markup: no escaping
            out.append(token.markup + token.content + token.markup)
        elif token.type in ("em_open", "em_close", "strong_open", "strong_close"):
            out.append(token.markup)
        elif token.type in ("softbreak", "hardbreak"):
            out.append("\n")
    return "".join(out)


def _escape(text: str, following: str = " ", preceding: str = "") -> str:
    """Text that Markdown renders as itself: no tag can open, no ``[x](url)`` can form, and
    no bare address becomes a link (GitHub-flavoured renderers, the chat's among them, link
    ``http://…``, ``www.…`` and ``name@host.tld`` by themselves).

    ``following`` is the character after ``text`` (a space at the end of the whole text),
    ``preceding`` the characters before it. An address is broken by a backslash escape, which
    renders as nothing: ``http:/\\/``, ``www\\.``, ``name\\@``.
    """
    out = []
    for i, ch in enumerate(text):
        after = text[i + 1 : i + 2] or following
        before = text[max(0, i - 3) : i] if i >= 3 else (preceding + text[:i])[-3:]
        if ch == "<" and (after.isalpha() or after in "/!?"):
            out.append("&lt;")
        elif ch == "]" and after in ("(", ":"):
            out.append("]\\")
        elif (
            (ch == "/" and before.endswith(":/"))
            or (ch == "." and before.lower() == "www")
            or (ch == "@" and before[-1:] in _EMAIL_CHARS and after in _EMAIL_CHARS)
        ):
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


class StreamEscaper:
    """``_escape`` over text that arrives in pieces (a model's deltas): a piece's last
    character waits for the next piece, since ``<`` or ``]`` are safe only by what follows."""

    def __init__(self) -> None:
        self._held = ""
        self._before = ""  # the last characters let through, for addresses cut between pieces

    def feed(self, piece: str) -> str:
        text = self._held + piece
        if not text:
            return ""
        self._held = text[-1]
        out = _escape(text[:-1], following=self._held, preceding=self._before)
        self._before = (self._before + text[:-1])[-3:]
        return out

    def flush(self) -> str:
        held, self._held = self._held, ""
        return _escape(held, preceding=self._before)


def plain(text: str) -> str:
    """``text`` (Markdown, HTML, anything) as plain text that is inert in any renderer.

    Paragraphs are separated by a blank line; list items keep a ``-`` or ``1.`` marker.
    """
    blocks: list[tuple[str, bool]] = []  # (text, is a list item)
    lists: list[list[int]] = []  # per open list: [next number], or [] for a bullet list
    current = ""
    for token in _parser().parse(text):
        kind = token.type
        if kind in ("bullet_list_open", "ordered_list_open"):
            lists.append([] if kind == "bullet_list_open" else [int(token.attrGet("start") or 1)])
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif kind == "list_item_open":
            indent, numbering = "  " * (len(lists) - 1), lists[-1]
            current = indent + (f"{numbering[0]}. " if numbering else "- ")
            if numbering:
                numbering[0] += 1
        elif kind == "inline":
            current += _inline_text(token.children or [])
        elif kind in ("code_block", "fence"):
            current += _escape(token.content.rstrip("\n"))
        if kind in _BLOCK_BREAKS and current.strip():
            blocks.append((current.rstrip(), bool(lists)))
            current = ""
    out = ""
    for i, (block, item) in enumerate(blocks):
        if i:
            out += "\n" if item and blocks[i - 1][1] else "\n\n"
        out += block
    return out


def clean_html(html: str) -> str:
    """``html`` with only ``ALLOWED_TAGS`` and their allowed attributes; links http(s) or
    relative, opened with ``rel="noopener noreferrer"``."""
    import nh3

    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={k: set(v) for k, v in _ATTRIBUTES.items()},
        url_schemes={"http", "https"},
        clean_content_tags={"script", "style"},
    )
