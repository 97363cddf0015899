"""HTML and Markdown for people: answers with linked markers, source cards, whole pages.

Everything here is a pure function of askdef's data, made safe by ``askdef.safe_output`` on
the way out: the chat's answer and status lines (inert Markdown), the sources panel with
quoted words in ``<mark>`` (escaped, then allowlisted HTML), and the script-free pages the HTTP
API serves (a document; the routes).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote, urlencode

from askdef.safe_output import clean_html, plain
from askdef.types import Answer, Citation, Paragraph, Passage

_MARKER = re.compile(r"\[(\d+)\]")
_SNIPPET = 280


def highlight(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """``text`` as escaped HTML with each ``(start, end)`` span (offsets into it) in ``<mark>``."""
    merged: list[list[int]] = []
    for start, end in sorted((max(0, a), min(len(text), b)) for a, b in spans):
        if start >= end:
            continue
        if merged and not text[merged[-1][1] : start].strip():  # touching, or only spaces apart
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, pos = [], 0
    for start, end in merged:
        out.append(html.escape(text[pos:start]))
        out.append(f"<mark>{html.escape(text[start:end])}</mark>")
        pos = end
    out.append(html.escape(text[pos:]))
    return "".join(out)


def by_marker(citations: Iterable[Citation]) -> dict[int, list[Citation]]:
    """Citations grouped by marker number; all of one marker quote the same paragraph."""
    groups: dict[int, list[Citation]] = {}
    for c in citations:
        groups.setdefault(c.n, []).append(c)
    return groups


def model_suffix(generator: str, model: str) -> str:
    """`` · model`` when the model says more than the generator's name, else nothing."""
    return f" · {plain(model)}" if model and model != generator else ""


def _cited_paragraphs(answer: Answer) -> int:
    return len({(c.doc_id, c.paragraph) for c in answer.citations})


def document_link(doc_id: str, paragraph: int, marks: Sequence[tuple[int, int]] = ()) -> str:
    """Relative URL of the whole-document view at ``paragraph``, quotes highlighted."""
    query = urlencode([("mark", f"{a}-{b}") for a, b in marks])
    return f"documents/{quote(doc_id)}{'?' + query if query else ''}#p{paragraph}"


def original_link(doc_id: str) -> str:
    """URL of an indexed PDF's original file, relative to its document view's page."""
    return "../" * (doc_id.count("/") + 1) + f"files/{quote(doc_id)}"


def _where(page: int | None, paragraph: int) -> str:
    return f"p. {page} ¶{paragraph}" if page is not None else f"¶{paragraph}"


# --------------------------------------------------------------------------- the chat


def answer_markdown(answer: Answer) -> str:
    """The final answer for the chat: markers link to their source, then notes, the query
    searched when it is not the question (a follow-up's), and the model.

    ``answer.text`` and the notices are ``plain`` already; the links are askdef's own.
    """
    groups = by_marker(answer.citations)

    def link(match: re.Match[str]) -> str:
        group = groups.get(int(match.group(1)))
        if group is None:
            return match.group(0)
        c, marks = group[0], [(g.start, g.end) for g in group]
        title = plain(c.ref).replace('"', "'")
        return f'[[{c.n}]]({document_link(c.doc_id, c.paragraph, marks)} "{title}")'

    body = _MARKER.sub(link, answer.text)
    if answer.short:
        body = f"**{answer.short}**\n\n{body}"
    notes = "".join(f"\n\n> ⚠ {note}" for note in answer.notices)
    if answer.query and answer.query != answer.question:
        notes += f"\n\n*Searched for: {plain(answer.query)}*"
    model = model_suffix(answer.generator, answer.model)
    return f"{body}{notes}\n\n*— {answer.generator}{model}, {answer.timings.total:.1f} s*"


def streaming_markdown(text: str, *, waiting: str) -> str:
    """The answer while it is written (unverified), or a progress line before the first word."""
    if not text.strip():
        return f"*{waiting}*"
    return plain(text) + " ▍"


def answered_by(answer: Answer) -> str:
    """The status line for a finished answer: who wrote it, how long it took."""
    model = model_suffix(answer.generator, answer.model)
    cited = _cited_paragraphs(answer)
    what = "not in the documents" if answer.refused else f"{cited} source{'s' if cited > 1 else ''}"
    return f"Answered by **{answer.generator}**{model} in {answer.timings.total:.1f} s · {what}"


def unindexed_note(count: int) -> str:
    """The status line's note on corpus files the index does not hold; empty when none."""
    if not count:
        return ""
    files = "file" if count == 1 else "files"
    return f" · ⚠ {count} corpus {files} not indexed (`askdef index` lists them and why)"


def welcome_html() -> str:
    """The sources panel before the first question."""
    return (
        '<div class="askdef-sources"><h4>Sources</h4><p class="askdef-note">'
        "The paragraphs an answer cites appear here, the quoted words highlighted, each with a "
        "link to read the whole document at that paragraph.</p></div>"
    )


def _entry(n: int, passage: Passage, spans: list[tuple[int, int]], *, snippet: bool) -> str:
    text = passage.text
    if snippet and len(text) > _SNIPPET:
        body = f'<p class="askdef-text askdef-snippet">{html.escape(text[:_SNIPPET])}…</p>'
    else:
        local = [(a - passage.start, b - passage.start) for a, b in spans]
        body = f'<p class="askdef-text">{highlight(text, local)}</p>'
    section = (
        f'<div class="askdef-section">{html.escape(passage.section)}</div>'
        if passage.section
        else ""
    )
    href = html.escape(document_link(passage.doc_id, passage.paragraph, spans))
    return (
        f'<section class="askdef-src" id="askdef-source-{n}"><header>'
        f'<span class="askdef-n">{n}</span>'
        f'<span class="askdef-doc">{html.escape(passage.doc_id)}</span>'
        f'<span class="askdef-par">{_where(passage.page, passage.paragraph)}</span></header>'
        f'{section}{body}<a class="askdef-open" href="{href}" target="_blank" '
        'rel="noopener noreferrer">'
        f"Read the whole document at {_where(passage.page, passage.paragraph)} ↗</a></section>"
    )


def _cited(answer: Answer, passages: Sequence[Passage]) -> list[str]:
    by_ref = {(p.doc_id, p.paragraph): p for p in passages}
    groups = by_marker(answer.citations)
    entries = []
    for n in sorted(groups):
        first = groups[n][0]
        passage = by_ref.get((first.doc_id, first.paragraph)) or Passage(
            doc_id=first.doc_id,
            paragraph=first.paragraph,
            text=first.quote,
            score=0.0,
            start=first.start,
            end=first.end,
            page=first.page,
        )
        spans = [(c.start, c.end) for c in groups[n]]
        entries.append(_entry(n, passage, spans, snippet=False))
    return entries


def sources_html(answer: Answer | None, passages: Sequence[Passage]) -> str:
    """The sources panel: the cited paragraphs with quotes highlighted, or what was retrieved."""
    if answer is not None and answer.citations:
        cited = _cited_paragraphs(answer)
        head = f"<h4>Sources · {cited} paragraph{'s' if cited > 1 else ''} cited</h4>"
        body = "".join(_cited(answer, passages))
    elif answer is not None:
        head = (
            "<h4>Sources</h4><p class='askdef-note'>No passage supports an answer. "
            "The closest paragraphs searched:</p>"
        )
        body = "".join(_entry(i, p, [], snippet=True) for i, p in enumerate(passages, 1))
    else:
        head = (
            f"<h4>Retrieved {len(passages)} passages</h4><p class='askdef-note'>"
            "The answer is being written from these; its citations will appear here.</p>"
        )
        body = "".join(_entry(i, p, [], snippet=True) for i, p in enumerate(passages, 1))
    return clean_html(f'<div class="askdef-sources">{head}{body}</div>')


# --------------------------------------------------------------------------- whole pages


def document_page(
    doc_id: str,
    paragraphs: list[Paragraph],
    marks: list[tuple[int, int]],
    original: str | None = None,
) -> str:
    """A self-contained, script-free HTML page of one document, ``#p<n>`` per paragraph.

    ``original`` (a PDF's file URL) adds links that open the PDF at a paragraph's page, and
    at the first marked quote's page above the text.
    """
    name = html.escape(doc_id)
    parts, section = [], None
    marked: int | None = None  # the page of the first marked paragraph
    for p in paragraphs:
        if p.section and p.section != section:
            parts.append(f"<h2>{html.escape(p.section)}</h2>")
        section = p.section
        local = [(a - p.start, b - p.start) for a, b in marks if a < p.end and b > p.start]
        if local and marked is None:
            marked = p.page
        page = (
            f' <a class="pg" href="{html.escape(original)}#page={p.page}">p. {p.page}</a>'
            if original and p.page
            else ""
        )
        parts.append(
            f'<p id="p{p.paragraph}"><a class="n" href="#p{p.paragraph}">¶{p.paragraph}</a>{page} '
            f"{highlight(p.text, local)}</p>"
        )
    if original:
        at = marked or 1
        parts.insert(
            0,
            f'<p class="orig"><a href="{html.escape(original)}#page={at}" target="_blank" '
            f'rel="noopener noreferrer">Open the original PDF at page {at} ↗</a></p>',
        )
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{name} · askdef</title>
<style>body{{font:16px/1.6 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;
color:#1f2328}}h1{{font-size:1.2rem;word-break:break-all}}h2{{font-size:1.05rem;margin-top:2rem}}
p{{padding:.3rem .6rem;border-radius:8px;scroll-margin-top:30vh}}
p:target{{background:#eef4ff;outline:2px solid #8bb4ff}}a.n,a.pg{{color:#6e7781;
text-decoration:none;font-size:.85em;margin-right:.3rem}}
mark{{background:#ffe58a;padding:1px 2px;border-radius:3px}}
</style></head><body><h1>{name}</h1>{"".join(parts)}</body></html>"""


_STYLE = """<style>body{font:15px/1.55 system-ui,sans-serif;max-width:52rem;margin:2rem auto;
padding:0 1rem;color:#1f2328}h1{font-size:1.3rem}h2{font-size:1.05rem;margin:1.6rem 0 .3rem}
p{margin:.3rem 0}code,pre{font:13px ui-monospace,monospace;background:#f4f5f7;border-radius:6px}
code{padding:1px 4px}pre{padding:.6rem .8rem;overflow-x:auto}.m{font-weight:700;color:#0b5cad}
</style>"""
_EXAMPLE = """curl -s http://127.0.0.1:7860/api/ask -H 'Content-Type: application/json' \\
  -d '{"question": "Which European firms take part in the F-X program?"}'"""


def routes_page(schema: dict[str, Any]) -> str:
    """A script-free HTML page listing the API routes of an OpenAPI ``schema``."""
    esc = html.escape
    parts = [f"<h1>{esc(schema['info']['title'])} HTTP API {esc(schema['info']['version'])}</h1>"]
    parts.append(
        '<p>JSON in and out; errors are <code>{"error": message, "type": name}</code>. '
        'Machine-readable schema: <a href="openapi.json">/openapi.json</a>; interactive docs '
        '(online only): <a href="docs">/docs</a>.</p>'
    )
    parts.append(f"<pre>{esc(_EXAMPLE)}</pre>")
    for path, methods in schema.get("paths", {}).items():
        for method, spec in methods.items():
            summary = esc(spec.get("summary", ""))
            text = re.sub(r"``(.+?)``", r"<code>\1</code>", esc(spec.get("description", "")))
            text = text.replace("\n\n", "</p><p>")
            parts.append(
                f'<h2><span class="m">{method.upper()}</span> <code>{esc(path)}</code> '
                f"— {summary}</h2><p>{text}</p>"
            )
    title = f"{esc(schema['info']['title'])} API"
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"{_STYLE}</head><body>{''.join(parts)}</body></html>"
    )
