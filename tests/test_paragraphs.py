"""Paragraph splitting and generic web-debris cleaning, on made-up pages."""

from askdef.ingest.paragraphs import MAX_PARAGRAPH_CHARS, split_paragraphs
from askdef.text import sentence_spans

PAGE = """Why Lighthouses Still Matter

Coastal Heritage Blog

A Quiet Revolution in Navigation
Lighthouses once guided every ship along the coast. Today satellites do most of that work.
Keepers were replaced by automatic lamps in the 1990s.
Share this:
Tweet
What Remains:
• Fog signals still sound in busy straits.
  • Some towers now host weather stations.
Photo: Jane Doe / Coastal Archive
The lens of a first-order lighthouse weighs several tonnes.
Related Posts
Discover more from Coastal Heritage
Subscribe to get the latest posts sent to your email.
Showing 3 Comments
Leave a Reply
© 2024 Coastal Heritage. All rights reserved.
"""


def test_offsets_round_trip_and_numbering() -> None:
    paragraphs = split_paragraphs("page.txt", PAGE)
    assert [p.paragraph for p in paragraphs] == list(range(1, len(paragraphs) + 1))
    for p in paragraphs:
        assert PAGE[p.start : p.end] == p.text
        assert p.doc_id == "page.txt"


def test_debris_is_dropped_and_body_kept() -> None:
    texts = [p.text for p in split_paragraphs("page.txt", PAGE)]
    assert texts == [
        "Lighthouses once guided every ship along the coast. Today satellites do most of that "
        "work.",
        "Keepers were replaced by automatic lamps in the 1990s.",
        "Fog signals still sound in busy straits.",
        "Some towers now host weather stations.",
        "The lens of a first-order lighthouse weighs several tonnes.",
    ]


def test_title_lines_become_sections_and_captions_are_not_sections() -> None:
    sections = [p.section for p in split_paragraphs("page.txt", PAGE)]
    # "Why Lighthouses Still Matter" and "Coastal Heritage Blog" are followed by another title:
    # the page title and a label, not the heading of any paragraph.
    assert sections == [
        "A Quiet Revolution in Navigation",
        "A Quiet Revolution in Navigation",
        "What Remains",
        "What Remains",
        "What Remains",
    ]


def test_markdown_headings_and_hard_wrapped_lines() -> None:
    text = (
        "# Field Notes\n\n"
        "## Birds of the marsh\n"
        "The heron waits in the reeds for hours, and strikes\n"
        "faster than the eye can follow.\n\n"
        "Short sentence here.\n"
    )
    paragraphs = split_paragraphs("notes.md", text)
    assert [(p.section, p.text) for p in paragraphs] == [
        (
            "Birds of the marsh",
            "The heron waits in the reeds for hours, and strikes\nfaster than the eye can follow.",
        ),
        ("Birds of the marsh", "Short sentence here."),
    ]
    assert all(text[p.start : p.end] == p.text for p in paragraphs)


def test_titles_may_end_with_a_parenthesis() -> None:
    text = "Victoria (Australia)\nVictoria is a state in the south-east of Australia.\n"
    (paragraph,) = split_paragraphs("v.txt", text)
    assert paragraph.section == "Victoria (Australia)"


def test_question_headings_need_title_case() -> None:
    text = "Are Lighthouses Obsolete Today?\nNot quite, as fog shows.\nIs it raining?\n"
    paragraphs = split_paragraphs("q.txt", text)
    assert [(p.section, p.text) for p in paragraphs] == [
        ("Are Lighthouses Obsolete Today?", "Not quite, as fog shows."),
        ("Are Lighthouses Obsolete Today?", "Is it raining?"),
    ]


def test_empty_and_debris_only_text_has_no_paragraphs() -> None:
    assert split_paragraphs("e.txt", "") == []
    assert split_paragraphs("e.txt", "Showing 0 Comment\n\n----\nShare this:\n") == []


def test_a_text_without_line_breaks_becomes_paragraphs_of_bounded_size() -> None:
    sentences = [f"Sentence {i} says something about the topic at hand." for i in range(5000)]
    text = "Long report\n\n" + " ".join(sentences) + " " + "x" * 4000 + " tail"
    paragraphs = split_paragraphs("long.txt", text)
    assert max(len(p.text) for p in paragraphs) <= MAX_PARAGRAPH_CHARS
    assert all(text[p.start : p.end] == p.text for p in paragraphs)
    assert [p.paragraph for p in paragraphs] == list(range(1, len(paragraphs) + 1))
    assert {p.section for p in paragraphs} == {"Long report"}
    # every sentence is whole in one paragraph, none lost, in order
    cut = [text[p.start + a : p.start + b] for p in paragraphs for a, b in sentence_spans(p.text)]
    assert cut[:5000] == sentences and "".join(cut[5000:]) == "x" * 4000 + " tail"


def test_paragraphs_of_ordinary_length_are_left_whole() -> None:
    text = "A first paragraph. " * 60 + "\n\nA second one."
    assert [len(p.text) for p in split_paragraphs("a.txt", text)] == [
        len(text.split("\n\n")[0].strip()),
        13,
    ]
