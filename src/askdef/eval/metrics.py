"""Evaluation metrics: pure functions over answers, rankings and gold paragraphs.

See ``askdef.eval.evaluation`` for what each aggregate means. Citation precision is the precision
grader's verdict (``askdef.answer.entailment.precision_messages``: the whole cited paragraph against
the sentence, asked in other words than the verifier asks), never the verifier's own decision.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

from askdef.answer.claims import MARKERS, parse_claims
from askdef.answer.entailment import Judge
from askdef.eval.questions import Gold
from askdef.types import Answer, Citation

_ARTICLES = re.compile(r"\b(?:a|an|the)\b")
_PUNCTUATION = frozenset(string.punctuation)


def strip_markers(text: str) -> str:
    """``text`` without its ``[n]`` citation markers."""
    return MARKERS.sub("", text)


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lowercase, drop punctuation and a/an/the, collapse spaces."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = "".join(
        ch for ch in text if ch not in _PUNCTUATION and not unicodedata.category(ch).startswith("P")
    )
    return " ".join(_ARTICLES.sub(" ", text).split())


def _token_f1(prediction: list[str], gold: list[str]) -> float:
    if not prediction or not gold:
        return float(prediction == gold)
    same = sum((Counter(prediction) & Counter(gold)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(prediction), same / len(gold)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, answers: Sequence[str]) -> float | None:
    """1.0 when the normalised prediction equals a normalised answer; None without answers."""
    if not answers:
        return None
    guess = normalize_answer(prediction)
    return max(float(guess == normalize_answer(a)) for a in answers)


def f1_score(prediction: str, answers: Sequence[str]) -> float | None:
    """SQuAD token F1, the best over ``answers``; None without answers."""
    if not answers:
        return None
    tokens = normalize_answer(prediction).split()
    return max(_token_f1(tokens, normalize_answer(a).split()) for a in answers)


def answer_coverage(prediction: str, answers: Sequence[str]) -> float | None:
    """Share of ``answers`` present as whole words in the prediction (both normalised)."""
    wanted = [f" {n} " for n in (normalize_answer(a) for a in answers) if n]
    if not wanted:
        return None
    text = f" {normalize_answer(prediction)} "
    return sum(w in text for w in wanted) / len(wanted)


# --- retrieval and citation metrics ------------------------------------------------------------


def reciprocal_rank(ranked: Sequence[tuple[str, int]], gold: Gold, k: int) -> float:
    """1/rank of the first gold ``(doc_id, paragraph)`` among the first ``k``, else 0."""
    for rank, (doc_id, paragraph) in enumerate(ranked[:k], start=1):
        if gold.matches(doc_id, paragraph):
            return 1.0 / rank
    return 0.0


def hit_at_k(ranked: Sequence[tuple[str, int]], gold: Gold, k: int) -> bool:
    """Whether a gold paragraph is among the first ``k``."""
    return reciprocal_rank(ranked, gold, k) > 0


def citation_recall(citations: Sequence[Citation], gold: Gold) -> float:
    """1.0 when some citation points at a gold paragraph, else 0.0."""
    return float(any(gold.matches(c.doc_id, c.paragraph) for c in citations))


def citation_support(answer: Answer, grader: Judge) -> tuple[int, int]:
    """(supported, checked) over the answer's (sentence, marker) pairs: a pair is supported
    when ``grader`` finds yes likelier than no for the cited paragraph's whole text stating the
    sentence (markers removed), its plain verdict rather than the verifier's stricter bar; a
    marker that resolves to no passage supports nothing."""
    texts = {(p.doc_id, p.paragraph): p.text for p in answer.passages}
    cited = {c.n: (c.doc_id, c.paragraph) for c in answer.citations}
    supported = checked = 0
    for claim in parse_claims(answer.text):
        for n in dict.fromkeys(claim.markers):
            checked += 1
            key = cited.get(n)
            text = texts.get(key, "") if key else ""
            supported += bool(text) and grader.entailment(text, claim.text) > 0.5
    return supported, checked


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) by linear interpolation between closest ranks."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def refusal_accuracy(outcomes: Iterable[tuple[bool, bool]]) -> float | None:
    """Share of unanswerable questions refused, from ``(answerable, refused)`` pairs."""
    refused = [r for answerable, r in outcomes if not answerable]
    return sum(refused) / len(refused) if refused else None


def false_refusal_rate(outcomes: Iterable[tuple[bool, bool]]) -> float | None:
    """Share of answerable questions refused, from ``(answerable, refused)`` pairs."""
    refused = [r for answerable, r in outcomes if answerable]
    return sum(refused) / len(refused) if refused else None


def refusal_curve(
    rows: Iterable[tuple[bool, bool, float | None]], thresholds: Sequence[float]
) -> list[tuple[float, float, float]]:
    """(threshold, refusal accuracy, false-refusal rate) had the answer judge refused below
    each threshold, from ``(answerable, refused, answerability)`` per question: a question
    with a judged answer is refused exactly when its answerability is below the threshold,
    one without keeps its outcome. (A rescue that another threshold would have called for is
    not re-run: the curve is read off the answers given.)"""
    rows = list(rows)
    curve = []
    for t in thresholds:
        outcomes = [(a, refused if p is None else p < t) for a, refused, p in rows]
        accuracy, false = refusal_accuracy(outcomes), false_refusal_rate(outcomes)
        if accuracy is not None and false is not None:
            curve.append((t, accuracy, false))
    return curve
