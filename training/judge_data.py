"""Builds the judge's training and tuning pairs from ``judge-data`` (see training/README.md).

Every pair is ``{"premise", "hypothesis", "label", "task", "source", "group"}``: ``task`` is
``entail`` (does the premise state the hypothesis?) or ``answer`` (does the premise answer the
hypothesis, a question?), ``label`` 1 or 0, ``group`` the article or document it came from.
Premises are shaped as askdef asks at run time: the one or two sentences of a paragraph that
a sentence of an answer cites, or the quotes of an answer; whole paragraphs too for
answerability. Splits are by article: the tuning articles never lend a sentence to training.

Only data whose license allows a shipped model is read: SQuAD (CC BY-SA 4.0), MED (CC BY-SA
4.0), Curriculum NLI without ``transitive`` (MIT), FactCG (MIT), WiCE dev (ODC-BY, tuning).
RTE (no license stated) and SICK (non-commercial) are not read. Nothing from
``bench-data`` or the perturbation suite's documents is read.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from askdef.text import sentence_spans

Pair = dict[str, Any]

TUNE_ARTICLES = 4  # SQuAD 2.0 articles (of 30) kept out of training to tune thresholds on
CURRICULUM = (
    "negation",
    "counting",
    "comparative",
    "quantifier",
    "boolean",
    "lexical",
    "coreference",
)
CURRICULUM_PER_TASK = 500
MAX_PREMISE = 700

_ANTONYMS = dict(
    pair.split(":")
    for pair in (
        "increase:decrease increased:decreased increases:decreases more:fewer larger:smaller "
        "largest:smallest higher:lower highest:lowest easier:harder before:after first:last "
        "rose:fell won:lost early:late earlier:later major:minor strong:weak stronger:weaker "
        "north:south east:west began:ended start:end allowed:forbidden supported:opposed "
        "success:failure successful:unsuccessful accepted:rejected positive:negative "
        "inside:outside above:below maximum:minimum most:least many:few long:short"
    ).split()
)
_ANTONYMS |= {b: a for a, b in list(_ANTONYMS.items())}
_AUX = re.compile(
    r"\b(is|are|was|were|has|have|had|can|could|will|would|should|must|did|does|do)\b"
)
_HEDGE = {
    "may": "will",
    "might": "will",
    "could": "will",
    "can": "will",
    "likely": "certainly",
    "possibly": "certainly",
    "about": "exactly",
    "approximately": "exactly",
    "some": "all",
    "often": "always",
    "usually": "always",
    "several": "all",
}
_NUMBER = re.compile(r"\b\d[\d,]*(?:\.\d+)?\b")
_NAME = re.compile(r"\b[A-Z][a-z]+(?: [A-Z][a-z]+)*\b")
_OPENERS = frozenset(
    "In On At By For From During After Before Since Although While When If As It This That "
    "These Those There However Despite Because Following Under With Without Today".split()
)
_SYNONYMS = dict(
    pair.split(":")
    for pair in (
        "company:firm companies:firms began:started begin:start large:big about:around "
        "approximately:roughly many:numerous use:employ used:employed help:assist helped:assisted "
        "buy:purchase bought:purchased show:demonstrate showed:demonstrated important:significant "
        "main:primary however:but also:additionally built:constructed created:made "
        "received:got known:recognized called:named famous:well-known several:various "
        "major:principal area:region city:town country:nation people:persons "
        "often:frequently mostly:mainly located:situated"
    ).split()
)
_FRONTED = re.compile(r"^(In|On|At|By|During|After|Before|Since|From|Under) ([^,]{3,40}), (.+)$")
_MONTHS = (
    "January February March April May June July August September October November December".split()
)


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"\w+", text.lower()) if len(w) > 2}


def _overlap(a: str, b: str) -> float:
    wa, wb = _words(a), _words(b)
    return len(wa & wb) / (len(wa) or 1)


def _pair(premise: str, hypothesis: str, label: int, task: str, source: str, group: str) -> Pair:
    return {
        "premise": premise,
        "hypothesis": hypothesis,
        "label": int(label),
        "task": task,
        "source": source,
        "group": group,
    }


# --- answerability --------------------------------------------------------------------------


def answer_pairs(rows: list[dict[str, Any]], rng: random.Random) -> Iterator[Pair]:
    """Question against the sentence that holds its answer (1), the paragraph's closest other
    sentence (0: a neighbouring fact), the closest sentence for an unanswerable question (0),
    as askdef asks it: of an answer's quotes, not of whole paragraphs."""
    for row in rows:
        q, context, group = row["question"], row["context"], row["article"]
        sents = sentences(context)
        if not sents:
            continue
        ranked = sorted(sents, key=lambda s: -_overlap(q, s))
        answers = [a for a in row["answers"] if a]
        if row["answerable"]:
            holding = [s for s in ranked if any(a in s for a in answers)]
            if not holding:
                continue
            yield _pair(holding[0], q, 1, "answer", "squad2", group)
            others = [s for s in ranked if not any(a in s for a in answers)]
            if others:
                yield _pair(others[0], q, 0, "answer", "squad2-neighbour", group)
                i = sents.index(holding[0])
                if rng.random() < 0.3 and i + 1 < len(sents):
                    yield _pair(f"{holding[0]} {sents[i + 1]}", q, 1, "answer", "squad2-two", group)
        else:
            yield _pair(ranked[0], q, 0, "answer", "squad2-unanswerable", group)
            if len(ranked) > 1 and rng.random() < 0.3:
                yield _pair(
                    f"{ranked[0]} {ranked[1]}", q, 0, "answer", "squad2-unanswerable", group
                )


def near_miss_pairs(rows: list[dict[str, Any]], rng: random.Random) -> Iterator[Pair]:
    """An answerable question with one name or number changed to another of its article,
    against the sentence that answers the original: not answered (0)."""
    by_article: dict[str, set[str]] = {}
    for row in rows:
        by_article.setdefault(row["article"], set()).update(_NAME.findall(row["context"]))
    for row in rows:
        if not row["answerable"] or rng.random() > 0.35:
            continue
        q = row["question"]
        names = [n for n in _NAME.findall(q[1:]) if n not in q[:1]]
        holding = [s for s in sentences(row["context"]) if any(a in s for a in row["answers"])]
        if not names or not holding:
            continue
        old = rng.choice(names)
        pool = sorted(n for n in by_article[row["article"]] if n != old and n not in holding[0])
        if not pool:
            continue
        yield _pair(
            holding[0],
            q.replace(old, rng.choice(pool), 1),
            0,
            "answer",
            "near-miss",
            row["article"],
        )


# --- entailment made from documents -----------------------------------------------------------


def perturb(
    sentence: str, other: str, names: list[str], rng: random.Random
) -> Iterator[tuple[str, str]]:
    """(kind, claim) variants of ``sentence`` that it does not entail; ``other`` is another
    sentence of its document, ``names`` names of its document."""
    body = sentence.rstrip(". ")
    if m := _AUX.search(body):
        yield "negation", body[: m.end()] + " not" + body[m.end() :] + "."
    words = body.split()
    swaps = [i for i, w in enumerate(words) if w.lower() in _ANTONYMS]
    if swaps:
        i = rng.choice(swaps)
        new = _ANTONYMS[words[i].lower()]
        words2 = [*words[:i], new.capitalize() if words[i][0].isupper() else new, *words[i + 1 :]]
        yield "antonym", " ".join(words2) + "."
    hedges = [i for i, w in enumerate(words) if w.lower() in _HEDGE]
    if hedges:
        i = rng.choice(hedges)
        yield "certainty", " ".join([*words[:i], _HEDGE[words[i].lower()], *words[i + 1 :]]) + "."
    numbers = _NUMBER.findall(body)
    if numbers:
        old = rng.choice(numbers)
        digits = old.replace(",", "")
        try:
            value = float(digits)
        except ValueError:
            value = None
        if value is not None:
            delta = (
                rng.choice([1, 2, 3, 5, 10])
                if value < 1000 or value > 2100
                else rng.choice([1, 2, 5, 10, 20])
            )
            new = (
                str(int(value) + rng.choice([-1, 1]) * delta)
                if "." not in digits
                else f"{value * 2:g}"
            )
            yield "number", body.replace(old, new, 1) + "."
    present = [n for n in _NAME.findall(body) if n != words[0]]
    if present:
        old = rng.choice(present)
        pool = [n for n in names if n != old and n not in body]
        if pool:
            yield "entity", body.replace(old, rng.choice(pool), 1) + "."
    if len(set(present)) >= 2:
        a, b = rng.sample(sorted(set(present)), 2)
        if a not in b and b not in a:
            yield "swapped_roles", body.replace(a, "\0").replace(b, a).replace("\0", b) + "."
    if words[0] in ("The", "A", "An") or (_NAME.fullmatch(words[0]) and words[0] not in _OPENERS):
        lead = words[0].lower() if words[0] in ("The", "A", "An") else words[0]
        yield "only", f"Only {lead} " + " ".join(words[1:]) + "."
    reason = other.rstrip(". ")
    if reason:
        yield "added_cause", f"{body}, because {reason[0].lower()}{reason[1:]}."
    if not re.search(r"\b1\d{3}|20\d\d\b", body):
        yield "added_date", f"{body} in {rng.choice(_MONTHS)} {rng.randint(1950, 2024)}."
    if " because " in body:
        cause, effect = body.split(" because ", 1)
        yield (
            "cause_effect",
            f"{effect[0].upper()}{effect[1:]} because {cause[0].lower()}{cause[1:]}.",
        )


def faithful(sentence: str) -> Iterator[tuple[str, str]]:
    """(kind, claim) variants that ``sentence`` entails: itself, and shortenings that drop a
    parenthesis or a trailing non-restrictive clause."""
    yield "copy", sentence
    dropped = re.sub(r"\s*\([^)]*\)", "", sentence)
    if dropped != sentence:
        yield "shortening", dropped
    m = re.search(r", (which|who|where|while|although|as well as|including|with) ", sentence)
    if m and m.start() > 30:
        yield "shortening", sentence[: m.start()].rstrip(",") + "."
    reworded = sentence
    if f := _FRONTED.match(sentence.rstrip(".")):
        prep, phrase, rest = f.groups()
        reworded = f"{rest[0].upper()}{rest[1:]} {prep.lower()} {phrase}."
    words = reworded.split()
    for i, w in enumerate(words):
        if w.lower() in _SYNONYMS:
            new = _SYNONYMS[w.lower()]
            words[i] = new.capitalize() if w[0].isupper() else new
    if " ".join(words) != sentence:
        yield "paraphrase", " ".join(words)


def document_pairs(
    paragraphs: dict[str, list[str]], source: str, rng: random.Random
) -> Iterator[Pair]:
    """Entailment pairs made from each article's sentences: the sentence (or it and its
    neighbour) as premise, faithful and perturbed claims as hypotheses, and another sentence
    of the article as an unrelated claim (0)."""
    for group, texts in paragraphs.items():
        article_names = sorted({n for t in texts for n in _NAME.findall(t)})
        article_sents = [s for t in texts for s in sentences(t) if 8 <= len(s.split()) <= 60]
        for text in texts:
            sents = [s for s in sentences(text) if 8 <= len(s.split()) <= 60]
            for s in sents:
                if rng.random() > 0.5:
                    continue
                premise = s
                if rng.random() < 0.3 and len(sents) > 1:
                    nb = rng.choice([x for x in sents if x != s])
                    premise = f"{s} {nb}" if rng.random() < 0.5 else f"{nb} {s}"
                kinds = list(faithful(s))
                for kind, claim in rng.sample(kinds, min(2, len(kinds))):
                    if kind == "copy" and rng.random() < 0.5:
                        continue  # a copy needs no judge at run time (verbatim_span)
                    yield _pair(premise, claim, 1, "entail", f"{source}-{kind}", group)
                other = rng.choice(article_sents)
                bad = list(perturb(s, other, article_names, rng))
                for kind, claim in rng.sample(bad, min(2, len(bad))):
                    yield _pair(premise, claim, 0, "entail", f"{source}-{kind}", group)
                if rng.random() < 0.2 and other != s:
                    yield _pair(premise, other, 0, "entail", f"{source}-unrelated", group)


# --- public NLI sets ------------------------------------------------------------------------------


def nli_pairs(path: Path, source: str, limit: int | None, rng: random.Random) -> Iterator[Pair]:
    """Pairs of a public NLI set, ``limit`` at most, premises of ``MAX_PREMISE`` characters at
    most (the judge reads one or two sentences; longer ones are cut in training anyway)."""
    rows = [r for r in read_jsonl(path) if len(r["premise"]) <= MAX_PREMISE]
    rng.shuffle(rows)
    for row in rows[:limit]:
        yield _pair(
            row["premise"],
            row["hypothesis"],
            row["label"] == "entailment",
            "entail",
            source,
            row.get("meta", {}).get("genre", source)
            if isinstance(row.get("meta"), dict)
            else source,
        )


def paragraphs_by_article(rows: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Each article's distinct paragraphs, in the order the question rows give them."""
    paragraphs: dict[str, list[str]] = {}
    for r in rows:
        texts = paragraphs.setdefault(r["article"], [])
        if r["context"] not in texts:
            texts.append(r["context"])
    return paragraphs


def build(data: Path, seed: int = 13) -> tuple[list[Pair], list[Pair]]:
    """(train, tune) pairs from the ``judge-data`` folder ``data``."""
    rng = random.Random(seed)
    squad2 = list(read_jsonl(data / "squad2-dev-train" / "questions.jsonl"))
    articles = sorted({r["article"] for r in squad2})
    tune_articles = set(random.Random(seed).sample(articles, TUNE_ARTICLES))
    squad1 = list(read_jsonl(data / "squad1.1-dev-extra" / "questions.jsonl"))
    train: list[Pair] = []
    tune: list[Pair] = []
    for rows, is_tune in (
        ([r for r in squad2 if r["article"] not in tune_articles], False),
        ([r for r in squad2 if r["article"] in tune_articles], True),
    ):
        out = tune if is_tune else train
        out.extend(answer_pairs(rows, rng))
        out.extend(near_miss_pairs(rows, rng))
        out.extend(document_pairs(paragraphs_by_article(rows), "squad-doc", rng))
    # SQuAD 1.1-only articles: answerable questions lend positives; their sentences, claims.
    one = [r for r in squad1 if rng.random() < 0.3]
    train.extend(p for p in answer_pairs(one, rng) if p["label"] == 1)
    train.extend(document_pairs(paragraphs_by_article(squad1), "squad1-doc", rng))
    train.extend(nli_pairs(data / "med" / "med.jsonl", "med", None, rng))
    train.extend(nli_pairs(data / "factcg-doc" / "cg2c_doc.jsonl", "factcg", None, rng))
    for task in CURRICULUM:
        train.extend(
            nli_pairs(
                data / "curriculum" / task / "train.jsonl",
                f"curriculum-{task}",
                CURRICULUM_PER_TASK,
                rng,
            )
        )
    tune.extend(nli_pairs(data / "wice" / "dev.jsonl", "wice-dev", None, rng))
    tune.extend(nli_pairs(data / "fever-symmetric" / "dev.jsonl", "fever-dev", None, rng))
    rng.shuffle(train)
    return train, tune


def main() -> None:
    import argparse
    from collections import Counter

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/judge-data"))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    train, tune = build(args.data)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, pairs in (("train", train), ("tune", tune)):
        with (args.out / f"{name}.jsonl").open("w", encoding="utf-8") as f:
            for p in pairs:
                f.write(json.dumps(p, ensure_ascii=False) + "\n")
        counts = Counter((p["task"], p["label"]) for p in pairs)
        print(name, len(pairs), dict(sorted(counts.items())))
        print(
            " ",
            dict(
                Counter(
                    p["source"].split("-")[0]
                    if p["source"].startswith("curriculum")
                    else p["source"]
                    for p in pairs
                ).most_common()
            ),
        )


if __name__ == "__main__":
    main()
