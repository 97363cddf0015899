"""What in an HTML fragment could load, run or frame something: the test of the output policy."""

from __future__ import annotations

import re
from html.parser import HTMLParser

ACTIVE_TAGS = frozenset(
    "img script iframe frame svg object embed video audio source link meta base form style".split()
)


class _Finder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ACTIVE_TAGS:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"{tag} {name}=")
            if name in ("href", "src", "action", "formaction") and value:
                scheme = value.strip().lower().split(":", 1)[0] if ":" in value else ""
                if scheme and scheme not in ("http", "https"):
                    self.found.append(f"{tag} {name}={value}")
            if name == "src" and value:
                self.found.append(f"{tag} src={value}")


def active_content(html: str) -> list[str]:
    """Every element or attribute of ``html`` that loads, runs or links to a script."""
    finder = _Finder()
    finder.feed(html)
    finder.close()
    return finder.found


def rendered_markdown(text: str) -> str:
    """``text`` as a typical Markdown client renders it: CommonMark with raw HTML and images."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True}).render(text)


# What GitHub-flavoured renderers (marked, the chat's; cmark-gfm) turn into a link by itself:
# the source text at an address's start, as marked's own "url" rule reads it.
_AUTOLINK = re.compile(
    r"(?:https?|ftp)://[A-Za-z0-9-]|www\.[A-Za-z0-9-]|[A-Za-z0-9._+-]@[A-Za-z0-9-_]+\.[A-Za-z0-9]",
    re.IGNORECASE,
)
_CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)", re.DOTALL)


def bare_addresses(markdown: str) -> list[str]:
    """The addresses a GitHub-flavoured renderer would link in ``markdown`` (outside code)."""
    return _AUTOLINK.findall(_CODE_SPAN.sub("", markdown))
