"""Evaluation: metric functions on hand-computed cases, question loading, the bundled question
set's integrity, report writing, and one end-to-end run on the real corpus."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fake_judge import ScriptedJudge

from askdef import Answer, AskDef, Citation, Passage, Settings
from askdef.answer.prompts import REFUSAL
from askdef.errors import InputError, QuestionTooLongError
from askdef.eval.charts import tradeoff_svg
from askdef.eval.compare import compare
from askdef.eval.evaluation import EvalReport, EvalRow, aggregate, evaluate, score_row
from askdef.eval.metrics import (
    answer_coverage,
    citation_recall,
    citation_support,
    exact_match,
    f1_score,
    false_refusal_rate,
    hit_at_k,
    normalize_answer,
    percentile,
    reciprocal_rank,
    refusal_accuracy,
    strip_markers,
)
from askdef.eval.progress import Progress
from askdef.eval.questions import Gold, Question, load_questions
from askdef.eval.report import report_data, write_report

PROJECT = Path(__file__).resolve().parents[1]
CORPUS = PROJECT / "corpus"
QUESTIONS = PROJECT / "eval" / "questions.jsonl"
ARTICLE = "european-defense-industry-japan-potential.txt"
BUDGET = (  # ¶11 of ARTICLE
    "Japan’s decision to increase its defense budget to 2% of GDP by 2027 signals its commitment "
    "to modernizing its military forces. This growth in defense spending will result in greater "
    "demand for advanced military technologies, equipment, and systems."
)
CULTURE = (  # ¶17 of ARTICLE
    "Japanese companies tend to operate with a high degree of caution and formality, while "
    "European firms often operate in a more flexible and entrepreneurial manner."
)


def _passage(n: int, text: str, doc_id: str = ARTICLE) -> Passage:
    return Passage(doc_id=doc_id, paragraph=n, text=text, score=1.0, start=0, end=len(text))


def _citation(n: int, passage: Passage, quote: str = "") -> Citation:
    return Citation(
        n=n, doc_id=passage.doc_id, paragraph=passage.paragraph, quote=quote, start=0, end=0
    )


# --- SQuAD answer metrics ------------------------------------------------------------------------


def test_normalisation_drops_case_punctuation_articles_and_extra_spaces() -> None:
    assert normalize_answer("The  Rolls-Royce, an Engine!") == "rollsroyce engine"
    assert normalize_answer("North Korea’s “missile” tests") == "north koreas missile tests"
    assert normalize_answer("Theatre a la carte") == "theatre la carte"  # only whole articles


def test_exact_match_is_the_best_over_the_answers() -> None:
    assert exact_match("The F-X program.", ["Airbus", "F-X program"]) == 1.0
    assert exact_match("F-X program of Japan", ["F-X program"]) == 0.0
    assert exact_match("anything", []) is None


def test_f1_counts_shared_tokens() -> None:
    # prediction: bae systems and leonardo (4); gold: bae systems leonardo and rollsroyce (5)
    # 4 shared: precision 1, recall 4/5, F1 = 8/9
    gold = ["BAE Systems, Leonardo, and Rolls-Royce", "Airbus"]
    assert f1_score("BAE Systems and Leonardo", gold) == pytest.approx(8 / 9)
    assert f1_score("Dassault", gold) == 0.0
    assert f1_score("x", []) is None


def test_coverage_is_the_share_of_answers_present_as_whole_words() -> None:
    answers = ["Airbus", "BAE Systems", "Leonardo", "Rheinmetall"]
    assert answer_coverage("Airbus and BAE systems [1].", answers) == 0.5
    assert answer_coverage("Leonardo", ["Leon"]) == 0.0
    assert answer_coverage("North Korea's tests", ["North Korea’s tests"]) == 1.0
    assert answer_coverage("anything", []) is None


def test_markers_are_stripped_before_scoring() -> None:
    assert strip_markers("It rose [1]. It fell [2][3] and [4, 5].") == "It rose. It fell and."
    assert exact_match(strip_markers("2027 [1]"), ["2027"]) == 1.0


# --- retrieval and citation metrics --------------------------------------------------------------

RANKED = [("a.txt", 3), ("b.txt", 1), ("a.txt", 7)]


def test_hit_at_k_and_reciprocal_rank_against_a_gold_paragraph() -> None:
    gold = Gold.of([("a.txt", 7)])
    assert reciprocal_rank(RANKED, gold, k=5) == pytest.approx(1 / 3)
    assert hit_at_k(RANKED, gold, k=3) and not hit_at_k(RANKED, gold, k=2)
    assert reciprocal_rank(RANKED, gold, k=2) == 0.0
    assert reciprocal_rank(RANKED, Gold.of([("a.txt", 9)]), k=5) == 0.0


def test_gold_documents_match_any_paragraph_with_or_without_extension() -> None:
    assert reciprocal_rank(RANKED, Gold.of(docs=["b"]), k=5) == 0.5
    assert reciprocal_rank(RANKED, Gold.of([("a", 3)]), k=5) == 1.0
    assert Gold.of([("a.txt", 7)], ["b"]).refs == ["a.txt ¶7", "b ¶*"]


def test_citation_recall_is_one_when_a_gold_paragraph_is_cited() -> None:
    cited = [_citation(1, _passage(11, BUDGET)), _citation(2, _passage(17, CULTURE))]
    assert citation_recall(cited, Gold.of([(ARTICLE, 17)])) == 1.0
    assert citation_recall(cited[:1], Gold.of([(ARTICLE, 17)])) == 0.0
    assert citation_recall([], Gold.of([(ARTICLE, 17)])) == 0.0


BUDGET_CLAIM = "Japan will raise its defense budget to 2% of GDP by 2027."
CULTURE_CLAIM = "Japanese companies operate with caution and formality."


def test_citation_precision_grades_each_sentence_marker_pair_on_the_whole_paragraph() -> None:
    budget, culture = _passage(11, BUDGET), _passage(17, CULTURE)
    answer = Answer(
        question="q",
        text=(
            "Japan will raise its defense budget to 2% of GDP by 2027 [1]. "  # judged yes
            "Japanese companies operate with caution and formality [1]. "  # ¶11 does not say so
            "Japanese companies operate with caution and formality [2]. "  # ¶17 does
            "Nothing backs this sentence [3]."  # a marker without a citation
        ),
        citations=[  # the quotes the verifier chose: shorter than their paragraphs
            _citation(1, budget, "increase its defense budget to 2% of GDP by 2027"),
            _citation(2, culture, "caution and formality"),
        ],
        passages=[budget, culture],
        generator="test",
    )
    # this grader says yes only when shown a whole paragraph that states the sentence
    grader = ScriptedJudge((BUDGET, BUDGET_CLAIM), (CULTURE, CULTURE_CLAIM))
    assert citation_support(answer, grader) == (2, 4)
    # a marker with no citation behind it is unsupported, even for a grader that says yes to all
    assert citation_support(answer, ScriptedJudge(everything=True)) == (3, 4)


def test_refusal_accuracy_and_false_refusal_rate() -> None:
    outcomes = [(False, True), (False, False), (True, True), (True, False), (True, False)]
    assert refusal_accuracy(outcomes) == 0.5
    assert false_refusal_rate(outcomes) == pytest.approx(1 / 3)
    assert refusal_accuracy([(True, False)]) is None
    assert false_refusal_rate([(False, True)]) is None


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 95) == pytest.approx(4.8)
    assert percentile([7.0], 95) == 7.0


def _answer(text: str, passages: list[Passage], *, refused: bool = False) -> Answer:
    return Answer(
        question="q",
        text=text,
        citations=[_citation(i, p) for i, p in enumerate(passages, start=1)],
        passages=passages,
        refused=refused,
        generator="test",
    )


def test_score_row_checks_an_answerable_question() -> None:
    budget = _passage(11, BUDGET)
    question = Question(
        id="q1",
        question="How much will Japan spend on defense?",
        answers=["2% of GDP", "2027"],
        answerable=True,
    )
    answer = _answer("Japan will raise its defense budget to 2% of GDP by 2027 [1].", [budget])
    judge = ScriptedJudge((BUDGET, BUDGET_CLAIM))
    gold = Gold.of([(ARTICLE, 11)])
    row = score_row(question, gold, [_passage(3, "x"), budget], answer, k=5, grader=judge)
    assert (row.coverage, row.hit, row.reciprocal_rank, row.citation_recall) == (
        1.0,
        True,
        0.5,
        1.0,
    )
    assert row.citation_precision == 1.0 and row.exact_match == 0.0
    assert row.citations == [f"{ARTICLE} ¶11"]
    assert row.checks == dict.fromkeys(
        ["answered", "coverage", "retrieved", "cites_gold", "citations_supported"], True
    )
    assert row.passed
    unjudged = score_row(question, gold, [budget], answer, k=5)
    assert unjudged.citation_precision is None and "citations_supported" not in unjudged.checks


def test_exact_match_and_f1_score_the_short_answer_when_there_is_one() -> None:
    budget = _passage(11, BUDGET)
    question = Question(id="q2", question="By which year?", answers=["2027"], answerable=True)
    sentence = "Japan will raise its defense budget to 2% of GDP by 2027 [1]."
    whole = score_row(question, None, [budget], _answer(sentence, [budget]), k=5)
    short = _answer(sentence, [budget]).model_copy(update={"short": "2027"})
    scored = score_row(question, None, [budget], short, k=5)
    assert (whole.exact_match, scored.exact_match, scored.f1) == (0.0, 1.0, 1.0)
    assert whole.f1 is not None and whole.f1 < 1.0
    assert scored.short == "2027" and scored.coverage == whole.coverage == 1.0


def test_score_row_wants_a_refusal_for_an_unanswerable_question() -> None:
    question = Question(id="u", question="Who won?", answerable=False)
    refused = score_row(question, None, [], _answer(REFUSAL, [], refused=True), k=5)
    assert refused.checks == {"refused": True} and refused.passed
    assert refused.hit is None and refused.coverage is None and refused.citation_precision is None
    wrong = _answer("Japan rose [1].", [_passage(1, "x")])
    answered = score_row(question, None, [], wrong, k=5, grader=ScriptedJudge())
    assert answered.checks == {"refused": False, "citations_supported": False}
    assert not answered.passed


def test_aggregate_averages_over_the_questions_each_metric_applies_to() -> None:
    rows = [
        EvalRow(id="a", question="q", answerable=True, refused=True, coverage=0.0, latency=1.0),
        EvalRow(
            id="b",
            question="q",
            answerable=True,
            coverage=1.0,
            hit=True,
            latency=2.0,
            first_token=0.5,
        ),
        EvalRow(id="c", question="q", answerable=False, refused=True, latency=3.0),
        EvalRow(id="d", question="q", answerable=False, error="boom", checks={"no_error": False}),
    ]
    metrics = aggregate(rows, k=5)
    assert metrics["answer_coverage"] == 0.5 and metrics["hit@5"] == 1.0
    assert metrics["refusal_accuracy"] == 1.0 and metrics["false_refusal_rate"] == 0.5
    assert metrics["latency_p50"] == 2.0 and metrics["errors"] == 1.0
    assert metrics["first_token_latency_p50"] == 0.5  # only where a generator wrote text
    assert metrics["pass_rate"] == 0.75  # rows without checks pass; the error row does not
    assert "citation_precision" not in metrics and "mrr" not in metrics


# --- loading questions ---------------------------------------------------------------------------


def _write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


GOOD = {"id": "g1", "question": "Which firms?", "answers": ["Airbus"], "answerable": True}
MALFORMED = [
    json.dumps(GOOD),
    '{"id": "x", "question": ',  # line 2: cut JSON
    "",  # blank lines are not malformed
    "[1, 2]",  # line 4: not an object
    json.dumps({"id": "x", "answers": []}),  # line 5: no question
    json.dumps(GOOD),  # line 6: duplicate id
    json.dumps({"id": 7, "question": "SQuAD?", "answers": {"text": ["a"]}, "relevant_ids": ["d"]}),
]


def test_malformed_lines_are_reported_with_their_numbers_and_skipped(tmp_path: Path) -> None:
    questions, skipped = load_questions(_write_lines(tmp_path / "q.jsonl", MALFORMED))
    assert [q.id for q in questions] == ["g1", "7"]
    assert [s.split(":")[0] for s in skipped] == ["line 2", "line 4", "line 5", "line 6"]
    assert "not valid JSON" in skipped[0] and "question" in skipped[2]
    assert "duplicate id 'g1'" in skipped[3]
    squad = questions[1]
    assert squad.answers == ["a"] and squad.answerable and squad.relevant_ids == ["d"]


def test_a_missing_question_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        load_questions(tmp_path / "nope.jsonl")


@dataclass
class _Generator:
    name: str = "fake"
    model: str = "fake-1"


class _Embedder:
    def forget(self) -> None:
        pass


@dataclass
class _FakeBot:
    """Just what ``evaluate`` uses of ``AskDef``: canned passages and answers, no model."""

    settings: Settings
    generator: _Generator = field(default_factory=_Generator)
    embedder: _Embedder = field(default_factory=_Embedder)
    passage: Passage = field(default_factory=lambda: _passage(11, BUDGET))
    judge: ScriptedJudge = field(default_factory=ScriptedJudge)

    def search(self, question: str, k: int | None = None) -> list[Passage]:
        return [self.passage]

    def ask(self, question: str) -> Answer:
        if "boom" in question:
            raise QuestionTooLongError("too long")
        return _answer(
            "Japan will raise its defense budget to 2% of GDP by 2027 [1].", [self.passage]
        )


def test_evaluate_skips_malformed_lines_and_keeps_going(tmp_path: Path) -> None:
    lines = [
        json.dumps(
            {
                "id": "budget",
                "question": "How much?",
                "answers": ["2% of GDP"],
                "answerable": True,
                "doc": ARTICLE,
                "quote": "increase its defense budget to 2% of GDP",
            }
        ),
        "not json",
        json.dumps({"id": "boom", "question": "boom", "answers": ["x"], "answerable": True}),
        json.dumps(
            {
                "id": "lost",
                "question": "q?",
                "answers": [],
                "doc": ARTICLE,
                "quote": "no such words",
            }
        ),
    ]
    bot = _FakeBot(Settings(corpus_dir=CORPUS, index_dir=tmp_path / "index"))
    path = _write_lines(tmp_path / "q.jsonl", lines)
    report = evaluate(bot, path, progress=False, grader="none")  # type: ignore[arg-type]
    assert [r.id for r in report.rows] == ["budget", "boom", "lost"]
    assert len(report.skipped_lines) == 1
    assert report.skipped_lines[0].startswith("line 2: not valid JSON (Expecting value")
    budget, boom, lost = report.rows
    assert budget.passed and budget.gold == [f"{ARTICLE} ¶11"]
    assert boom.error == "too long" and not boom.passed
    assert lost.gold == [] and "quote not found" in lost.notes[0]
    assert report.metrics["errors"] == 1.0 and report.generator == "fake"


def test_eval_not_on_a_terminal_prints_its_running_figures_every_ten_questions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    question = {"question": "How much?", "answers": ["2% of GDP"], "answerable": True}
    lines = [json.dumps({"id": f"q{i}", **question}) for i in range(12)]
    bot = _FakeBot(Settings(corpus_dir=CORPUS, index_dir=tmp_path / "index"))
    evaluate(bot, _write_lines(tmp_path / "q.jsonl", lines), grader="none")  # type: ignore[arg-type]
    shown = [line for line in capsys.readouterr().err.splitlines() if line.startswith("eval")]
    assert shown[0] == "eval: 12 questions; loading the models"
    assert [line.split(":")[0] for line in shown[1:]] == ["eval 1/12", "eval 10/12", "eval 12/12"]
    assert "answered 12, refused 0, coverage 1.00, p50 " in shown[-1] and "s left" in shown[-1]


def test_eval_on_a_terminal_shows_a_bar_with_the_running_figures() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    answered = EvalRow(id="a", question="q", answerable=True, coverage=0.5, latency=2.0)
    refused = EvalRow(id="b", question="q", answerable=False, refused=True, latency=1.0)
    with Progress(2, stream=screen) as shown:
        shown.add(answered)
        shown.add(refused)
    assert "2/2" in screen.getvalue()
    assert "answered=1, refused=1, coverage=0.50, p50=1.5 s" in screen.getvalue()


# --- the bundled question set --------------------------------------------------------------------


def _question_set() -> list[Question]:
    questions, skipped = load_questions(QUESTIONS)
    assert skipped == []
    return questions


def test_question_set_is_large_enough_and_ids_are_unique() -> None:
    questions = _question_set()
    lines = [line for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    ids = [json.loads(line)["id"] for line in lines]
    assert len(ids) == len(set(ids)) == len(questions)
    assert sum(q.answerable for q in questions) >= 40
    assert sum(not q.answerable for q in questions) >= 10


def test_near_misses_change_one_thing_of_an_answerable_question() -> None:
    rows = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines()]
    answerable = {r["id"] for r in rows if r["answerable"]}
    near = [r for r in rows if "from" in r]
    assert len(near) >= 30
    for r in near:
        assert not r["answerable"] and r["from"] in answerable, r["id"]
        assert r["change"] in {"entity", "relation", "number", "polarity"}, r["id"]


def test_every_quote_occurs_verbatim_in_its_document() -> None:
    for q in _question_set():
        if not q.answerable:
            assert q.answers == [] and q.doc is None and q.quote is None, q.id
            continue
        assert q.doc and q.quote and len(q.quote.split()) >= 5, q.id
        text = (CORPUS / q.doc).read_text(encoding="utf-8")
        assert q.quote in text, f"{q.id}: quote not verbatim in {q.doc}"
        assert text.count(q.quote) == 1, f"{q.id}: quote is ambiguous"


def test_every_expected_answer_occurs_in_its_document() -> None:
    for q in _question_set():
        if q.answerable:
            text = f" {normalize_answer((CORPUS / str(q.doc)).read_text(encoding='utf-8'))} "
            assert q.answers, q.id
            for expected in q.answers:
                assert f" {normalize_answer(expected)} " in text, f"{q.id}: {expected!r}"


# --- reports -------------------------------------------------------------------------------------


def _report(tmp_path: Path, *, coverage: float = 0.0, latency: float = 0.2) -> EvalReport:
    failing = EvalRow(
        id="bad<id>",
        question="<script>alert('x')</script> Which firms?",
        answerable=True,
        answer="Nobody [1].",
        citations=[f"{ARTICLE} ¶4"],
        coverage=coverage,
        latency=latency,
        checks={"answered": True, "coverage": coverage == 1.0},
    )
    passing = EvalRow(
        id="good-one",
        question="Who won?",
        answerable=False,
        refused=True,
        answer=REFUSAL,
        latency=0.1,
        checks={"refused": True},
    )
    rows = [passing, failing]
    return EvalReport(
        rows=rows,
        metrics=aggregate(rows, k=5),
        skipped_lines=["line 9: not valid JSON (Expecting value at column 1)"],
        generator="extractive",
        model="extractive",
        settings={"k": 5},
        questions_path=str(tmp_path / "q.jsonl"),
    )


def test_every_label_of_the_tradeoff_chart_lies_inside_it() -> None:
    # from threshold 0 (nothing refused: bottom left) to 1 (everything refused: top right)
    curve = [(t / 20, t / 20, (t / 20) ** 2) for t in range(21)]
    svg = ET.fromstring(tradeoff_svg(curve, default=0.1))
    _, _, width, height = map(float, svg.attrib["viewBox"].split())
    font = float(svg.attrib["font-size"])
    labels = [
        e for e in svg.iter("{http://www.w3.org/2000/svg}text") if "transform" not in e.attrib
    ]
    assert "1.00" in [e.text for e in labels]
    for label in labels:
        x, y, wide = (
            float(label.attrib["x"]),
            float(label.attrib["y"]),
            0.6 * font * len(label.text or ""),
        )
        start = (
            x
            - {"start": 0, "middle": wide / 2, "end": wide}[
                label.attrib.get("text-anchor", "start")
            ]
        )
        assert y - font >= 0 and y <= height, label.text  # its ascent below the top edge
        assert start >= 0 and start + wide <= width, label.text


def test_write_report_writes_json_markdown_html_and_charts(tmp_path: Path) -> None:
    paths = write_report(_report(tmp_path), tmp_path / "out")
    assert all(p.is_file() for p in paths.values())
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert list(data)[:5] == ["metrics", "rows", "skipped_lines", "generator", "questions"]
    assert data["questions"] == 2 and data["generator"] == "extractive"
    assert data["rows"][1]["passed"] is False and "answer_coverage" in data["metrics"]
    markdown = paths["md"].read_text(encoding="utf-8")
    assert "| answer_coverage | 0.000 |" in markdown and "line 9:" in markdown
    assert paths["latency_svg"].read_text(encoding="utf-8").startswith("<svg")


def test_reports_show_the_short_answer_before_the_answer(tmp_path: Path) -> None:
    report = _report(tmp_path)
    row = report.rows[1].model_copy(update={"short": "2027", "answer": "By 2027 [1]."})
    paths = write_report(report.model_copy(update={"rows": [report.rows[0], row]}), tmp_path / "o")
    assert "**2027** — By 2027 [1]." in paths["md"].read_text(encoding="utf-8")
    assert "<b>2027</b> — By 2027 [1]." in paths["html"].read_text(encoding="utf-8")


def test_html_escapes_text_and_lists_failures_first(tmp_path: Path) -> None:
    paths = write_report(_report(tmp_path), tmp_path / "out")
    page = paths["html"].read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;alert(&#x27;x&#x27;)" in page
    assert "bad&lt;id&gt;" in page and "<svg" in page
    assert page.index("bad&lt;id&gt;") < page.index("good-one")
    markdown = paths["md"].read_text(encoding="utf-8")
    assert "<script>" not in markdown
    assert markdown.index("bad&lt;id&gt;") < markdown.index("good-one")


def test_compare_sets_two_runs_side_by_side_with_deltas(tmp_path: Path) -> None:
    a = write_report(_report(tmp_path, coverage=0.0, latency=0.2), tmp_path / "a")["json"]
    b = write_report(_report(tmp_path, coverage=1.0, latency=0.4), tmp_path / "b")["json"]
    table = compare(a, b)
    assert "| metric | A | B | Δ (B - A) |" in table
    assert "| answer_coverage | 0.000 | 1.000 | +1.000 (better) |" in table
    assert "| latency_p95 |" in table and "(worse)" in table
    assert "Newly passing in B: bad&lt;id&gt;" in table
    with pytest.raises(InputError, match="does not exist"):
        compare(a, tmp_path / "missing.json")


def test_report_json_round_trips_the_rows(tmp_path: Path) -> None:
    report = _report(tmp_path)
    rows = [EvalRow.model_validate(r) for r in report_data(report)["rows"]]
    assert [r.id for r in rows] == ["good-one", "bad<id>"]


# --- end to end ----------------------------------------------------------------------------------

E2E = [
    {
        "id": "fx",
        "question": "Which European companies are involved in Japan's F-X fighter program?",
        "answers": ["BAE Systems", "Leonardo", "Rolls-Royce"],
        "answerable": True,
        "doc": ARTICLE,
        "quote": "European defense contractors such as BAE Systems, Leonardo, and Rolls-Royce",
    },
    {
        "id": "budget",
        "question": "What share of GDP does Japan plan to spend on defense, and by which year?",
        "answers": ["2% of GDP", "2027"],
        "answerable": True,
        "doc": ARTICLE,
        "quote": "increase its defense budget to 2% of GDP by 2027",
    },
    {
        "id": "fighter-nations",
        "question": "Contractors from which countries are exploring joint development of a "
        "next-generation fighter jet?",
        "answers": ["United Kingdom", "Italy"],
        "answerable": True,
        "doc": "japan-europe-defense-ties-global-security",  # the extension may be left out
        "quote": "defense contractors from Japan, the United Kingdom, and Italy",
    },
    {
        "id": "fifa",
        "question": "Who won the 2018 FIFA World Cup?",
        "answers": [],
        "answerable": False,
    },
]


@pytest.fixture
def e2e_report(indexed: AskDef, tmp_path: Path) -> Iterator[EvalReport]:
    s = indexed.settings
    bot = AskDef(
        settings=Settings(corpus_dir=s.corpus_dir, index_dir=s.index_dir, generator="extractive")
    )
    lines = [json.dumps(row) for row in E2E[:2]] + ["{oops"] + [json.dumps(r) for r in E2E[2:]]
    yield evaluate(bot, _write_lines(tmp_path / "q.jsonl", lines), progress=False, grader="none")


def test_end_to_end_extractive_eval_on_the_corpus(e2e_report: EvalReport, tmp_path: Path) -> None:
    report = e2e_report
    assert [r.id for r in report.rows] == ["fx", "budget", "fighter-nations", "fifa"]
    assert report.skipped_lines and report.skipped_lines[0].startswith("line 3:")
    assert report.generator == "extractive" and report.settings["k"] == 5
    metrics = report.metrics
    assert metrics["hit@5"] == 1.0 and metrics["citation_recall"] == 1.0
    assert metrics["refusal_accuracy"] == 1.0 and metrics["false_refusal_rate"] == 0.0
    assert metrics["answer_coverage"] == 1.0
    assert "citation_precision" not in metrics and report.grader == "none"  # no grader ran
    assert metrics["latency_p95"] >= metrics["latency_p50"] > 0
    assert 0 < metrics["first_token_latency_p50"] <= metrics["latency_p95"]
    # what is shown comes after the generator's first text: it waits for its check
    assert all(r.first_token <= r.first_shown for r in report.rows if r.first_token)  # type: ignore[operator]
    assert report.rows[3].first_token is None  # refused before any generator ran
    fx = report.rows[0]
    assert fx.passed and fx.gold == [f"{ARTICLE} ¶10"] and f"{ARTICLE} ¶10" in fx.citations
    assert report.rows[3].refused and report.rows[3].passed
    paths = write_report(report, tmp_path / "report")
    assert "fighter-nations" in paths["html"].read_text(encoding="utf-8")
    assert "Citation precision: not measured" in paths["md"].read_text(encoding="utf-8")


@pytest.mark.llm
def test_citation_precision_is_judged_by_the_local_model_when_asked(
    indexed: AskDef, tmp_path: Path
) -> None:
    s = indexed.settings
    bot = AskDef(
        settings=Settings(corpus_dir=s.corpus_dir, index_dir=s.index_dir, generator="extractive")
    )
    path = _write_lines(tmp_path / "q.jsonl", [json.dumps(row) for row in E2E[:2]])
    report = evaluate(bot, path, progress=False, grader="local")
    assert report.grader == "local"
    assert sum(r.citations_checked for r in report.rows) >= 2
    # extractive answers are the documents' own sentences: the judge finds them stated
    assert report.metrics["citation_precision"] >= 0.5
    assert "judged by the local model" in write_report(report, tmp_path / "r")["md"].read_text()


def test_conversations_are_scored_turn_by_turn_and_follow_ups_apart(handbook: AskDef) -> None:
    conversations = Path(__file__).resolve().parents[1] / "eval" / "conversations.jsonl"
    report = evaluate(handbook, conversations, progress=False, grader="none")
    ids = [row.id for row in report.rows]
    assert ids[:3] == [f"hb-annual-parttime-sick/{n}" for n in (1, 2, 3)]  # turns in order
    assert all(i.startswith("hb-") for i in ids)  # the bundled corpus's are left out, saying so
    assert any("22 conversations about the corpus ../corpus" in s for s in report.skipped_lines)
    first, follow_ups = report.groups["first turns"], report.groups["follow-ups"]
    assert first["questions"] == 22 and first["questions"] + follow_ups["questions"] == len(ids)
    assert "refusal_accuracy" in report.groups["follow-ups: unanswerable"]
    part_time = report.rows[1]
    assert part_time.follow_up == "ellipsis" and "pro rata" in part_time.answer
    assert part_time.query != part_time.question  # searched with the conversation
    assert "follow-ups" in (
        write_report(report, Path(handbook.settings.index_dir).parent / "r")["md"].read_text(
            encoding="utf-8"
        )
    )


def test_every_follow_up_of_the_conversation_set_has_its_standalone_form() -> None:
    # benchmarks/follow_ups_alone.py asks each follow-up alone too, to tell what the
    # conversation loses from what the generator cannot answer
    conversations = Path(__file__).resolve().parents[1] / "eval" / "conversations.jsonl"
    for line in conversations.read_text(encoding="utf-8").splitlines():
        first, *later = json.loads(line)["turns"]
        assert "standalone" not in first
        for turn in later:
            assert turn["standalone"].endswith("?"), turn["question"]


def test_a_conversation_line_becomes_its_turns(tmp_path: Path) -> None:
    line = json.dumps(
        {
            "id": "c",
            "corpus": "docs",
            "turns": [
                {"question": "How long is maternity leave?", "answers": ["16 weeks"]},
                {"question": "And for the partner?", "follow_up": "ellipsis", "answers": []},
            ],
        }
    )
    questions, skipped = load_questions(_write_lines(tmp_path / "c.jsonl", [line, "{}"]))
    assert [(q.id, q.turn, q.follow_up, q.answerable) for q in questions] == [
        ("c/1", 1, None, True),
        ("c/2", 2, "ellipsis", False),
    ]
    assert len(skipped) == 1 and skipped[0].startswith("line 2:")
