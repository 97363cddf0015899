"""Hybrid search over the real bundled corpus, and question validation."""

from __future__ import annotations

import numpy as np
import pytest

from askdef import AskDef
from askdef.errors import EmptyQuestionError, QuestionTooLongError
from askdef.index.retrieval import reciprocal_rank_fusion

ARTICLE = "european-defense-industry-japan-potential.txt"
TIES = "japan-europe-defense-ties-global-security.txt"


@pytest.mark.parametrize(
    ("question", "doc_id", "quote"),
    [
        (
            "Which European firms take part in Japan's programme to replace the F-2?",
            ARTICLE,
            "F-X program",
        ),
        (
            "By what year does Japan plan to spend 2% of GDP on defense?",
            ARTICLE,
            "2% of GDP by 2027",
        ),
        ("Apart from combat, what missions could Japan use AI for?", TIES, "disaster relief"),
        (
            "How do Japanese and European companies differ in the way they work?",
            ARTICLE,
            "high degree of caution and formality",
        ),
    ],
)
def test_search_finds_the_paragraph_holding_the_fact(
    indexed: AskDef, question: str, doc_id: str, quote: str
) -> None:
    hits = indexed.search(question, k=3)
    assert any(h.doc_id == doc_id and quote in h.text for h in hits), [h.ref for h in hits]


def test_passages_are_distinct_paragraphs_best_first(indexed: AskDef) -> None:
    hits = indexed.search("European defense companies in Japan", k=8)
    assert len(hits) == 8
    assert len({(h.doc_id, h.paragraph) for h in hits}) == 8
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    for h in hits:
        assert indexed.paragraph(h.doc_id, h.paragraph).text == h.text


def test_the_paragraph_whose_sentence_answers_comes_first(indexed: AskDef) -> None:
    question = "What are Japan's primary security concerns?"
    fused_only = AskDef(settings=indexed.settings.model_copy(update={"rerank_pool": 0}))
    answer = "an increasingly assertive China and the unpredictable behavior of North Korea"
    assert answer not in fused_only.search(question, k=3)[0].text  # fusion ranks it lower
    assert answer in indexed.search(question, k=3)[0].text


@pytest.mark.parametrize("question", ["", "   \n\t"])
def test_empty_question_is_refused(indexed: AskDef, question: str) -> None:
    with pytest.raises(EmptyQuestionError, match="empty"):
        indexed.search(question)


def test_oversized_question_is_refused(indexed: AskDef) -> None:
    with pytest.raises(QuestionTooLongError, match="100,000 characters"):
        indexed.search("x" * 100_000)


def test_reciprocal_rank_fusion_rewards_agreement() -> None:
    scores = reciprocal_rank_fusion([["a", "b", "c"], ["b", "d"]], k=60)
    assert max(scores, key=scores.__getitem__) == "b"
    assert scores["a"] == pytest.approx(1 / 61)
    assert scores["b"] == pytest.approx(1 / 62 + 1 / 61)


def test_search_reads_the_sentence_vectors_stored_at_indexing(
    indexed: AskDef, monkeypatch: pytest.MonkeyPatch
) -> None:
    from askdef.answer.relevance import score_sentences
    from askdef.index.vectors import sentence_texts

    model = indexed.embedder.model

    def unavailable(self: object, texts: list[str], **kwargs: object) -> list[list[float]]:
        raise RuntimeError(f"embedded at query time: {texts}")

    question = "Which firms build the engines of the new fighter jet?"
    with monkeypatch.context() as patched:  # the model can embed queries, not texts
        patched.setattr(type(model), "get_text_embedding_batch", unavailable)
        indexed.embedder.forget()
        passages = indexed.search(question, k=5)  # the rerank scores every sentence of the pool
        # and so does the answer's check, each sentence from the vectors stored at indexing
        scored = score_sentences(indexed._scorer_of(indexed._live_snapshot()), question, passages)
        with pytest.raises(RuntimeError, match="embedded at query time"):
            indexed.embedder.embed_sentences(["A sentence nobody indexed."])  # it is live
    assert passages and scored
    best = passages[scored[0].passage]
    texts = sentence_texts(best.section, best.text)[:3]  # as indexing embeds them
    stored = indexed._live_snapshot().sentence_vectors(texts)
    fresh = model.get_text_embedding_batch(texts)
    # the same vectors, up to the noise of batching texts of other lengths together: 1e-7 in
    # float32 (torch, onnx), 1e-3 where openvino runs bfloat16; askdef holds every runtime to
    # a cosine of 0.999 with torch (askdef.index.exported_encoder), and so does this test
    for t, f in zip(texts, fresh, strict=True):
        assert float(np.dot(stored[t], f)) >= 0.999 * float(
            np.linalg.norm(stored[t]) * np.linalg.norm(f)
        )


def test_each_text_gets_its_own_vector_when_batches_are_sorted_by_length(
    indexed: AskDef,
) -> None:
    texts = [
        "A long sentence about the joint development of a fighter jet by three countries.",
        "Short.",
        "A middling sentence about engines.",
        "Short.",
    ]
    together = indexed.embedder.embed_documents(texts)
    alone = [indexed.embedder.model.get_text_embedding(t) for t in texts]
    assert all(v == pytest.approx(a, abs=1e-5) for v, a in zip(together, alone, strict=True))
    assert together[1] == together[3] and together[0] != together[2]
