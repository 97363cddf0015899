"""askdef's one language layer: the sentences and words every stage sees."""

from collections.abc import Iterator
from pathlib import Path

import nltk.data
import pytest

from askdef import text
from askdef.errors import ModelError
from askdef.index.sparse import bm25_search, index_bm25
from askdef.ingest.chunking import make_splitter
from askdef.text import content_words, sentence_pieces, sentence_spans

LONG = (
    "The U.S. Army moved its depot to St. Paul's. Mr. Smith ran it, e.g. in winter. "
    "It held No. 5 of the series, etc. for the archive. "
) * 6


def test_sentences_end_where_a_reader_ends_them() -> None:
    text = "The U.S. Army moved its depot to St. Paul's. Mr. Smith ran it, e.g. in winter."
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "The U.S. Army moved its depot to St. Paul's.",
        "Mr. Smith ran it, e.g. in winter.",
    ]
    assert "".join(sentence_pieces(LONG)) == LONG
    image = "It builds greenhouses ![plan](http://x.example/p.png) for the colony. Wow! [1] Next."
    assert [image[a:b] for a, b in sentence_spans(image)] == [
        "It builds greenhouses ![plan](http://x.example/p.png) for the colony.",
        "Wow!",
        "[1] Next.",
    ]  # a Markdown image's "![" ends no sentence


@pytest.fixture
def no_punkt_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """nltk's search path and llama-index's packaged data folder, both empty."""
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path)])
    monkeypatch.setattr(text, "_nltk_cache", lambda: tmp_path / "nltk_cache")
    text._punkt.cache_clear()
    yield
    text._punkt.cache_clear()  # the next test loads the real data


def test_missing_sentence_data_says_how_to_reinstall_it(no_punkt_data: None) -> None:
    with pytest.raises(ModelError) as raised:
        list(sentence_spans("One sentence. Another one."))
    message = str(raised.value)
    assert "llama-index-core" in message and "reinstall" in message
    assert "\n" not in message  # one line, not nltk's page on downloading data


def test_a_long_paragraph_is_chunked_at_the_verifiers_sentence_ends() -> None:
    splitter = make_splitter(chunk_size=40, chunk_overlap=0, tokenize=str.split)
    ends = {LONG[:b].strip() for _, b in sentence_spans(LONG)}
    chunks = splitter.split_text(LONG)
    assert len(chunks) > 1
    position = 0
    for chunk in chunks[:-1]:
        position = LONG.index(chunk, position) + len(chunk)
        assert LONG[:position].strip() in ends, chunk  # never after "U.S." or "Mr."


def test_search_and_the_rerank_share_their_words() -> None:
    docs = ["Vitamin D deficiency causes rickets.", "Vitamin C deficiency causes scurvy."]
    # BM25 counts the one-letter "D" as the rerank does (bm25s's own pattern dropped it)
    assert bm25_search(index_bm25(docs), "What does vitamin D deficiency cause?", 2, 2)[0] == 0
    assert content_words("Vitamin D") == {"vitamin", "d"}
