"""Model output made safe to render as Markdown: no raw HTML, no images, no script links."""

from __future__ import annotations

import re

_TAG = re.compile(r"</?[A-Za-z][^>]*>|<!--.*?-->", re.DOTALL)
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]*)\]\(\s*([^)\s]*)[^)]*\)")
_SAFE_SCHEMES = ("http://", "https://", "#")


def sanitize(text: str) -> str:
    """Drop HTML tags and images; keep only http(s) and in-page links (others keep their text)."""
    text = _TAG.sub("", text)
    text = _IMAGE.sub(lambda m: m.group(1), text)
    return _LINK.sub(
        lambda m: m.group(0) if m.group(2).lower().startswith(_SAFE_SCHEMES) else m.group(1), text
    )
