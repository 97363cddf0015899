"""Model output made safe to render as Markdown: no raw HTML, no images, no script links."""

from __future__ import annotations

import re

_PAREN = r"\((?:[^()]|\([^()]*\))*\)"  # a URL part, one level of nested parentheses allowed
_SCRIPT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.DOTALL | re.IGNORECASE)
_TAG = re.compile(r"</?[A-Za-z][^>]*>|<!--.*?-->", re.DOTALL)
_IMAGE = re.compile(r"!\[([^\]]*)\]" + _PAREN)
_LINK = re.compile(r"\[([^\]]*)\](" + _PAREN + ")")
_REFERENCE = re.compile(r"^[ \t]{0,3}\[[^\]]+\]:\s*(\S+).*$", re.MULTILINE)  # [1]: url "title"
_SAFE_SCHEMES = ("http://", "https://", "#")


def _keep_safe_link(match: re.Match[str]) -> str:
    target = match.group(2)[1:-1].strip().lower()
    return match.group(0) if target.startswith(_SAFE_SCHEMES) else match.group(1)


def sanitize(text: str) -> str:
    """Drop HTML and images; keep only http(s) and in-page links (others keep their text).

    Reference definitions (``[1]: url``) to other schemes are removed, so ``[x][1]`` stays text.
    """
    text = _TAG.sub("", _SCRIPT.sub("", text))
    text = _REFERENCE.sub(
        lambda m: m.group(0) if m.group(1).lower().startswith(_SAFE_SCHEMES) else "", text
    )
    text = _IMAGE.sub(lambda m: m.group(1), text)
    return _LINK.sub(_keep_safe_link, text)
