"""Inputs shared by the evaluation tests: hand-made responses with known scores, and a tiny SQuAD v2.0 file."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from qa_service.evaluation import EvalItem, QuestionResult, score_question
from qa_service.evaluation.metrics import compute_metrics
from qa_service.schemas import Answer, AnswerSpan, Citation, Passage

TEXTS = {"d1": "Alice met Bob in Paris. It rained.", "d2": "Carol flew to Rome in May.", "d3": "Nothing here."}


def passage(doc_id: str) -> Passage:
    return Passage(doc_id=doc_id, chunk_id=0, start=0, end=1, text="x", score=0.5)


def _citation(doc_id: str, start: int, end: int, quote: str | None = None) -> Citation:
    quote = TEXTS[doc_id][start:end] if quote is None else quote
    return Citation(
        id=1, doc_id=doc_id, title=None, date=None, source=None, start=start, end=end, quote=quote, score=0.5
    )


def _answer(
    text: str | None, citations: list[Citation], span: AnswerSpan | None = None, docs: Sequence[str] = ()
) -> Answer:
    return Answer(
        question="q",
        answer=text,
        answerable=text is not None,
        confidence=0.5,
        answer_span=span,
        citations=citations,
        passages=[passage(d) for d in docs],
        timings_ms={"total": 1.0},
    )


@pytest.fixture
def hand_made_results() -> list[QuestionResult]:
    """Five responses, one of each kind, whose every score is worked out by hand in the tests."""
    doc_text = TEXTS.get
    return [
        # answerable, right, gold document first; answer span "Paris"
        score_question(
            EvalItem("q1", "Where did Alice meet Bob?", ("Paris",), ("d1",)),
            _answer(
                "Alice met Bob in Paris.",
                [_citation("d1", 0, 23)],
                span=AnswerSpan(start=17, end=22, text="Paris"),
                docs=["d1"],
            ),
            [passage("d1"), passage("d2")],
            doc_text,
            10.0,
        ),
        # answerable, wrong answer from the wrong document (gold ranked 3rd); one quote is not the text
        score_question(
            EvalItem("q2", "When did Carol fly?", ("May",), ("d2",)),
            _answer("It rained.", [_citation("d1", 24, 34), _citation("d3", 0, 7, quote="Nothing!")], docs=["d1"]),
            [passage("d1"), passage("d3"), passage("d1"), passage("d2")],
            doc_text,
            20.0,
        ),
        # answerable, abstained (false abstention); gold not retrieved at all
        score_question(
            EvalItem("q3", "Where did Carol fly?", ("Rome",), ("d2",)),
            _answer(None, [], docs=["d1"]),
            [passage("d1")],
            doc_text,
            30.0,
        ),
        # unanswerable, abstained (right)
        score_question(
            EvalItem("q4", "Who won the cup?", (), ()), _answer(None, [], docs=["d3"]), [passage("d3")], doc_text, 40.0
        ),
        # unanswerable, answered (false answer)
        score_question(
            EvalItem("q5", "What is the capital?", (), ()),
            _answer("Carol flew to Rome in May.", [_citation("d2", 0, 26)], docs=["d2"]),
            [passage("d2")],
            doc_text,
            50.0,
        ),
    ]


# Paragraphs no question is about: with 8 documents, a gold one in the top 5 is no longer a given.
DISTRACTORS = {
    "Harbour_railway": "The harbour railway opened in 1902 and carried coal from the mines to the docks. It closed in "
    "1968 when the mines shut.",
    "Alpine_choir": "The alpine choir sings every winter in the old chapel above the village. Its founder wrote most "
    "of the songs.",
    "Desert_observatory": "The desert observatory has two telescopes on a dry plateau. Astronomers there study comets "
    "and faint galaxies.",
    "River_ferry": "A small ferry crosses the river every hour in summer. In winter the crossing stops when ice forms.",
    "Glass_museum": "The glass museum shows bottles, lenses and windows from five centuries. Visitors may watch a "
    "glassblower at work.",
}


def tiny_squad_data() -> dict[str, Any]:
    """Three questions with answers, one v2.0-style impossible twist, one plainly off-topic; 8 paragraphs."""
    return {
        "version": "v2.0",
        "data": [
            {
                "title": "Arlen_Lighthouse",
                "paragraphs": [
                    {
                        "context": "The Arlen Lighthouse was built in 1874 on the northern cliffs of Vessa Island. "
                        "Its keeper, Marta Holm, lit the lamp every night for thirty-one years. The tower is "
                        "42 metres tall and painted red and white.",
                        "qas": [
                            {
                                "id": "t1",
                                "question": "Who was the keeper of the Arlen Lighthouse?",
                                "answers": [{"text": "Marta Holm", "answer_start": 91}],
                                "is_impossible": False,
                            },
                            {
                                "id": "t2",
                                "question": "How much does a ticket to climb the Arlen Lighthouse cost?",
                                "answers": [],
                                "plausible_answers": [{"text": "42", "answer_start": 161}],
                                "is_impossible": True,
                            },
                        ],
                    },
                    {
                        "context": "In 1921 the oil lamp was replaced by an electric light made in Glasgow. The old "
                        "lamp is now shown in the Vessa Island museum.",
                        "qas": [
                            {
                                "id": "t3",
                                "question": "Where was the electric light of the lighthouse made?",
                                "answers": [{"text": "Glasgow", "answer_start": 63}],
                                "is_impossible": False,
                            }
                        ],
                    },
                ],
            },
            {
                "title": "Copper beetle",
                "paragraphs": [
                    {
                        "context": "The copper beetle lives in the dry forests of southern Spain. It feeds on the "
                        "leaves of the cork oak and is active only at night.",
                        "qas": [
                            {
                                "id": "t4",
                                "question": "What does the copper beetle feed on?",
                                "answers": [
                                    {"text": "the leaves of the cork oak", "answer_start": 74},
                                    {"text": "leaves of the cork oak", "answer_start": 78},
                                ],
                                "is_impossible": False,
                            },
                            {
                                "id": "t5",
                                "question": "Who won the 1998 Tour de France?",
                                "answers": [],
                                "is_impossible": True,
                            },
                        ],
                    }
                ],
            },
            *({"title": title, "paragraphs": [{"context": text, "qas": []}]} for title, text in DISTRACTORS.items()),
        ],
    }


@pytest.fixture
def tiny_squad(tmp_path: Path) -> Path:
    path = tmp_path / "tiny-squad.json"
    path.write_text(json.dumps(tiny_squad_data()), encoding="utf-8")
    return path


@pytest.fixture
def hand_made_report(hand_made_results: list[QuestionResult]) -> dict[str, object]:
    """The report `run_eval` would give for the hand-made results (a tiny set, threshold 0.42, no sweep)."""
    return {
        "set": {"name": "hand-made", "format": "seed", "notes": []},
        "config": {"top_k": 5, "embedding_model": "m", "code_version": None, "min_score": 0.42},
        "index": {"documents": 3, "chunks": 3, "sentences": 3, "build_s": 0.1, "model_load_s": 0.1},
        "metrics": compute_metrics(hand_made_results),
        "threshold_sweep": None,
        "questions": [asdict(r) for r in hand_made_results],
    }
