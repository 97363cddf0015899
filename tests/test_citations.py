"""The citation verifier and the streamed answer's cut, on hand-made passages."""

from __future__ import annotations

from fake_judge import ScriptedJudge

from askdef.answer.citations import Entailment, Removed, verify
from askdef.answer.claims import Claim, parse_claims
from askdef.types import Passage

FX = (
    "For instance, Europe’s involvement is a testament to this partnership. The F-X program, "
    "Japan’s initiative to replace its aging fleet of F-2 fighters, is a key area where European "
    "defense contractors such as BAE Systems, Leonardo, and Rolls-Royce are involved."
)
BUDGET = "Japan’s decision to increase its defense budget to 2% of GDP by 2027 signals commitment."
PASSAGES = [
    Passage(doc_id="a.txt", paragraph=10, text=FX, score=1.0, start=1000, end=1000 + len(FX)),
    Passage(doc_id="b.txt", paragraph=3, text=BUDGET, score=0.9, start=50, end=50 + len(BUDGET)),
]


def agreeing() -> Entailment:
    """Checks whose judge says yes to anything it is asked: what the rules before it decide."""
    return Entailment(ScriptedJudge(everything=True))


def test_a_word_for_word_copy_is_kept_without_a_judge() -> None:
    v = verify(f"{BUDGET} [2]", PASSAGES)  # no judge at all
    assert v.text == BUDGET.removesuffix(".") + " [1]."
    (c,) = v.citations
    assert (c.quote, c.start, c.end) == (BUDGET, 50, 50 + len(BUDGET))


def test_a_copy_that_adds_a_negator_is_not_word_for_word_and_goes_to_the_judge() -> None:
    negated = BUDGET.replace("decision to increase", "decision not to increase")
    v = verify(f"{negated} [2]", PASSAGES, Entailment(ScriptedJudge()))  # a judge saying no
    assert v.citations == [] and v.text == "" and v.dropped == 1
    assert v.removed == [Removed(negated, "unsupported")]
    # the judge decides, asked about the cited paragraph: yes to that pair keeps the sentence
    kept = verify(f"{negated} [2]", PASSAGES, Entailment(ScriptedJudge((BUDGET, negated))))
    assert kept.citations[0].quote == BUDGET and kept.removed == []
    assert verify(f"{negated} [2]", PASSAGES).citations == []  # and without a judge: not shown


def test_a_paraphrase_keeps_its_citation_when_the_judge_says_its_span_states_it() -> None:
    claim = "Japan decided to raise defense spending to 2% of GDP by 2027."
    v = verify(f"{claim} [2]", PASSAGES, Entailment(ScriptedJudge(claim)))
    assert v.text == claim.removesuffix(".") + " [1]." and v.citations[0].quote == BUDGET
    assert verify(f"{claim} [2]", PASSAGES, Entailment(ScriptedJudge())).citations == []


def test_each_sentence_and_paragraph_is_judged_once_however_often_the_answer_is_verified() -> None:
    judge = ScriptedJudge(everything=True)
    entail = Entailment(judge)
    claim = "Japan raises defense spending to 2% of GDP by 2027 [2]."
    first = verify(claim, PASSAGES, entail)
    judge.fail = "The LLM server at http://x timed out."  # from now on, asking fails
    again = verify(f"{claim} Rolls-Royce is involved in F-X [1].", PASSAGES, entail)
    # the sentence judged before keeps its verdict and citation; only the new one needed
    # the judge, so only it is left unshown
    assert again.citations[0] == first.citations[0]
    assert again.removed == [Removed("Rolls-Royce is involved in F-X.", "unchecked")]


def test_a_failing_judge_leaves_its_sentences_unshown_and_says_why() -> None:
    judge = ScriptedJudge()
    judge.fail = "The LLM server at http://x timed out."
    v = verify(
        "Japan raises defense spending to 2% of GDP by 2027 [2].", PASSAGES, Entailment(judge)
    )
    assert v.citations == [] and v.removed[0].reason == "unchecked"
    assert v.judge_error == "The LLM server at http://x timed out."


def test_supported_marker_gets_the_verbatim_supporting_sentence() -> None:
    v = verify(
        "BAE Systems, Leonardo and Rolls-Royce work on the F-X program [1].", PASSAGES, agreeing()
    )
    assert v.text == "BAE Systems, Leonardo and Rolls-Royce work on the F-X program [1]."
    (c,) = v.citations
    assert (c.n, c.doc_id, c.paragraph) == (1, "a.txt", 10)
    assert c.quote.startswith("The F-X program") and c.quote in FX
    assert FX[c.start - 1000 : c.end - 1000] == c.quote
    assert v.dropped == 0


def test_markers_are_renumbered_by_first_appearance() -> None:
    v = verify(
        "Japan will spend 2% of GDP on defense by 2027 [2]. Rolls-Royce is involved in F-X. [1]",
        PASSAGES,
        agreeing(),
    )
    assert v.text == (
        "Japan will spend 2% of GDP on defense by 2027 [1]. Rolls-Royce is involved in F-X [2]."
    )
    assert [(c.n, c.doc_id) for c in v.citations] == [(1, "b.txt"), (2, "a.txt")]


def test_markers_after_the_full_stop_belong_to_the_sentence_before() -> None:
    v = verify(
        "Japan will spend 2% of GDP on defense by 2027. [2] Rolls-Royce is involved in F-X. [1]",
        PASSAGES,
        agreeing(),
    )
    assert v.dropped == 0
    assert v.text == (
        "Japan will spend 2% of GDP on defense by 2027 [1]. Rolls-Royce is involved in F-X [2]."
    )


def test_unsupported_or_unknown_markers_are_never_shown() -> None:
    v = verify(
        "Japan will spend 3% of GDP by 2030 [2]. The moon is made of cheese [1]. "
        "Rolls-Royce builds engines for F-X [9].",
        PASSAGES,
        Entailment(ScriptedJudge("Rolls-Royce builds engines for F-X.")),  # no marker [9]
    )
    assert v.citations == []
    assert v.dropped == 3
    assert "[" not in v.text and "cheese" not in v.text and "3%" not in v.text


def test_one_bad_marker_does_not_drop_a_supported_sentence() -> None:
    claim = "Japan plans 2% of GDP for defense by 2027."
    judge = ScriptedJudge((BUDGET, claim))  # the budget paragraph states it, the F-X one not
    v = verify("Japan plans 2% of GDP for defense by 2027 [1][2].", PASSAGES, Entailment(judge))
    assert v.text == "Japan plans 2% of GDP for defense by 2027 [1]."
    assert [c.doc_id for c in v.citations] == ["b.txt"]
    assert v.dropped == 1


def test_an_unmarked_sentence_is_shown_only_when_a_retrieved_paragraph_entails_it() -> None:
    raised = "Japan will raise its defense budget to 2% of GDP by 2027."
    entail = Entailment(ScriptedJudge(raised))
    v = verify(f"{raised} Japan is nice. HACKED.", PASSAGES, entail)
    assert v.text == raised.removesuffix(".") + " [1]."
    assert [c.doc_id for c in v.citations] == ["b.txt"]
    assert v.removed == [Removed("Japan is nice.", "unsourced"), Removed("HACKED.", "unsourced")]


def test_sentences_keep_their_markers_wherever_they_are_written() -> None:
    assert parse_claims("It fell [2][3]. It rose. [1] Then [4, 5] it held.") == [
        Claim("It fell.", (2, 3)),
        Claim("It rose.", (1,)),
        Claim("Then it held.", (4, 5)),
    ]


def test_numbers_written_as_words_with_their_unit_are_numbers() -> None:
    from askdef.answer.question_type import short_answer

    probation = "The probation period lasts six months."
    assert short_answer("How long is the probation period?", probation, [probation]) == "six months"
    notice = "Either side may end the employment with one week of notice."
    assert short_answer("How much notice is needed?", notice, [notice]) == "one week"


def test_amounts_keep_their_unit_as_people_write_them() -> None:
    from askdef.answer.question_type import short_answer

    leave = "Staff receive 25 days of annual leave."
    assert short_answer("How many days of leave do staff get?", leave, [leave]) == "25 days"
    assert short_answer("How long is the runway?", "", ["It is 3,000 metres long."]) == (
        "3,000 metres"
    )
    assert short_answer("When did it grow?", "", ["Growth was 2.50 percent."]) is None


def test_a_number_written_in_words_is_the_same_number_in_digits() -> None:
    from askdef.answer.relevance import unmentioned
    from askdef.index.vocabulary import Vocabulary
    from askdef.text import numbers

    assert numbers("twelve weeks, twenty-one days, a dozen times, 1,000 people") == {
        "12",
        "21",
        "1000",
    }
    assert numbers("one of the largest") == set()  # a pronoun, not a count
    corpus = Vocabulary.of(["Non-birth parents receive twelve weeks of parental leave."])
    assert unmentioned("Do non-birth parents get 12 weeks of leave?", corpus) == []
    assert unmentioned("Do non-birth parents get 14 weeks of leave?", corpus) == ["14"]


def test_the_short_answer_is_the_time_or_number_asked_for_as_the_quote_writes_it() -> None:
    from askdef.answer.question_type import short_answer

    deals = "The deals signed in March 2024, and investments leading up to 2027, matter."
    assert short_answer("When were the deals signed?", "", [deals]) == "March 2024"
    assert short_answer("Up to which year are investments planned?", "", [deals]) == "2027"
    assert short_answer("In which year were they signed?", "in 2024 [1]", ["Signed in 2024."]) == (
        "2024"
    )
    assert short_answer("How much did the jets cost?", "", ["The jets cost $5 billion."]) == (
        "$5 billion"
    )
    # the one the answer states, of two equally placed
    assert short_answer("When was it built?", "in 1999 [1]", ["Built in 1998 or 1999."]) == "1999"
    # the year the question names is not its answer
    assert short_answer("How many jets did they buy in 2019?", "", ["In 2019 they bought 42."]) == (
        "42"
    )


def test_no_short_answer_when_it_would_be_a_guess_or_is_not_asked_for() -> None:
    from askdef.answer.question_type import short_answer

    assert short_answer("Who signed the deals?", "", ["Japan signed them in March."]) is None
    assert short_answer("When was it built?", "", ["Built in 1998 or 1999."]) is None
    assert short_answer("What share of GDP, and by which year?", "", ["2% of GDP by 2027."]) is None
    assert short_answer("When will it open?", "", ["It may open soon."]) is None  # "may": a verb
    assert short_answer("When will it open?", "", []) is None


def test_decimals_and_abbreviations_do_not_end_a_sentence() -> None:
    from askdef.text import sentence_spans

    text = "The budget is 2.5 trillion yen. The U.S. Navy agrees."
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "The budget is 2.5 trillion yen.",
        "The U.S. Navy agrees.",
    ]


def test_streamed_answer_stops_after_the_last_allowed_sentence_and_its_markers() -> None:
    from askdef.answer.generation import first_sentences

    text = "It is 2.5 tons [1]. It rose. [2] It fell [1]. It held [3]."
    deltas = [text[i : i + 3] for i in range(0, len(text), 3)]  # as a model streams it
    assert "".join(first_sentences(deltas, 2)).rstrip() == "It is 2.5 tons [1]. It rose. [2]"
    assert "".join(first_sentences(deltas, 9)) == text


def test_llm_context_is_the_best_sentences_of_all_passages_best_first() -> None:
    from askdef.answer.prompts import fence
    from askdef.answer.relevance import Scored, focus

    first, second = PASSAGES[0].text, PASSAGES[1].text
    split = first.index("The F-X")
    scored = [  # best first, as score_sentences returns them
        Scored(0, split, len(first), first[split:], 0.9),
        Scored(1, 0, len(second), second, 0.5),
        Scored(0, 0, split - 1, first[: split - 1], 0.4),
    ]
    assert [p.text for p in focus(PASSAGES, scored, budget=2)] == [first[split:], second]
    best_first = f"{first[split:]} {first[: split - 1]}"
    assert [p.text for p in focus(PASSAGES, scored, budget=3)] == [best_first, second]
    alone = focus(PASSAGES, scored, budget=1)
    assert [p.text for p in alone] == [first[split:], ""]
    _, sources = fence(alone)  # the passage without a kept sentence is not shown
    assert f"[1] {first[split:]}" in sources and "[2]" not in sources


class _SameCosine:
    """An embedder that finds every sentence equally close in meaning to the question."""

    def embed_query(self, text: str) -> list[float]:
        return [1.0, 0.0]

    def embed_sentences(self, texts: list[str]) -> list[list[float]]:
        return [[0.6, 0.8] for _ in texts]


def test_of_sentences_alike_in_meaning_the_one_holding_the_question_words_ranks_first() -> None:
    from askdef.answer.relevance import Scorer, score_sentences

    first = PASSAGES[0].text
    split = first.index("The F-X")
    question = "Which fighters will the F-X program replace?"
    scored = score_sentences(Scorer(_SameCosine()), question, [PASSAGES[0]])
    assert scored[0].text == first[split:]
    assert scored[0].score > scored[1].score


def test_a_rare_word_shared_with_the_question_counts_more_than_a_common_one() -> None:
    from askdef.answer.relevance import Scorer, score_sentences
    from askdef.index.vocabulary import Vocabulary

    text = "The defense budget rose. The academic council met."
    passage = Passage(doc_id="c.txt", paragraph=1, text=text, score=1.0, start=0, end=len(text))
    question = "What did the academic council decide about the defense budget?"
    common = [f"Defense budget news, part {n}." for n in range(8)]
    corpus = Vocabulary.of([*common, text])
    assert corpus.weight("academ") > corpus.weight("defens") > 0
    flat = score_sentences(Scorer(_SameCosine()), question, [passage])
    assert flat[0].score == flat[1].score  # two of the question's words each
    weighted = score_sentences(Scorer(_SameCosine(), corpus), question, [passage])
    assert weighted[0].text == "The academic council met."
    assert weighted[0].score > weighted[1].score


def test_rerank_puts_first_the_paragraph_whose_sentence_answers() -> None:
    from askdef.answer.relevance import Scorer, rerank

    question = "What share of GDP will the defense budget reach?"
    ranked = rerank(Scorer(_SameCosine()), question, PASSAGES)
    assert [p.doc_id for p in ranked] == ["b.txt", "a.txt"]
    assert ranked[0].score > ranked[1].score
    assert [p.text for p in ranked] == [BUDGET, FX]  # whole paragraphs, as retrieved


def test_a_stream_is_cut_after_its_sentences_and_passed_on_as_it_comes_without_stops() -> None:
    """What the reader sees of a stream; that the cut reads each delta once (linear, not
    quadratic, in the stream) is measured by ``benchmarks/long_paragraph.py``."""
    from askdef.answer.generation import first_sentences

    endless = ["word "] * 10_000  # a model that never ends a sentence
    assert list(first_sentences(iter(endless), 3)) == endless  # each delta shown as it came
    sentences = [f"Sentence {i} is here [1]. " for i in range(200)]
    deltas = [piece for s in sentences for piece in (s[:9], s[9:])]
    stream = iter(deltas)
    kept = "".join(first_sentences(stream, 150))
    assert kept.rstrip() == "".join(sentences[:150]).rstrip()
    # the model is cut off once sentence 151 begins, not waited for
    assert next(stream) == deltas[301]
