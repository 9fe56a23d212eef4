"""Answers on the seed corpus: right sentence, exact quotes, honest abstention (real model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa_service.answering import expected_answer_type, typed_spans
from qa_service.schemas import Answer
from qa_service.service import QAService

QUESTIONS = [json.loads(line) for line in (Path(__file__).resolve().parent.parent / "eval/questions.jsonl").open()]


def assert_citations_exact(service: QAService, answer: Answer) -> None:
    """The product's core promise: every quote is the document's text at start:end."""
    for citation in answer.citations:
        document = service.get_document(citation.doc_id)
        assert document.text[citation.start : citation.end] == citation.quote
    for passage in answer.passages:
        assert service.get_document(passage.doc_id).text[passage.start : passage.end] == passage.text
    if answer.answerable:
        assert answer.answer and answer.answer in answer.citations[0].quote
        assert len(answer.answer) <= service.settings.max_answer_chars
    else:
        assert answer.answer is None and answer.citations == []


def test_dorothy_shea(seed_service: QAService) -> None:
    answer = seed_service.ask("Who met Dorothy Shea?")
    assert answer.answerable
    assert answer.citations[0].doc_id == "000_f6e0c52e4f6527ee"
    assert "Dorothy Shea" in answer.answer
    assert_citations_exact(seed_service, answer)


@pytest.mark.parametrize("item", QUESTIONS, ids=[q["id"] for q in QUESTIONS])
def test_citation_invariant_on_every_answer(seed_service: QAService, item: dict) -> None:
    assert_citations_exact(seed_service, seed_service.ask(item["question"]))


@pytest.mark.parametrize(
    "question",
    ["Who won the 2022 FIFA World Cup?", "What is the capital of Australia?", "What is the boiling point of water?"],
)
def test_abstains_when_the_articles_do_not_say(seed_service: QAService, question: str) -> None:
    answer = seed_service.ask(question)
    assert not answer.answerable
    assert answer.answer is None
    assert answer.passages, "closest passages are still offered for the user to check"


def test_rare_name_is_found_by_keyword(seed_service: QAService) -> None:
    passages = seed_service.search("Tehmina Janjua", top_k=3).passages
    assert "Tehmina Janjua" in passages[0].text


def test_empty_corpus_abstains(fresh_service: QAService) -> None:
    answer = fresh_service.ask("Who met Dorothy Shea?")
    assert not answer.answerable and answer.passages == []


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("When did the delegation arrive?", "date"),
        ("How many members were in the delegation?", "number"),
        ("How long did the conflict last?", "measure"),
        ("Where did the delegation go?", "place"),
        ("Who met Dorothy Shea?", "name"),
        ("Why did Pakistan send a delegation?", None),
    ],
)
def test_expected_answer_type(question: str, kind: str | None) -> None:
    assert expected_answer_type(question) == kind


def test_measure_spans_prefer_a_unit_and_fall_back_to_a_number() -> None:
    text = "The four-day conflict ended after 3 weeks of talks and a 1.7 km march by two groups."
    found = [text[s:e] for s, e, _ in typed_spans(text, "measure", set(), fallback=False)]
    assert found == ["four-day", "3 weeks", "1.7 km"]
    plain = "Two groups met in 2020."
    assert typed_spans(plain, "measure", set(), fallback=False) == []
    assert [plain[s:e] for s, e, _ in typed_spans(plain, "measure", set())] == ["Two", "2020"]


def test_name_spans_drop_titles_function_words_and_possessives() -> None:
    text = "On Prime Minister Shehbaz Sharif’s directive, the envoys met Secretary-General António Guterres in France."
    found = [text[s:e] for s, e, _ in typed_spans(text, "name", set())]
    assert found == ["Shehbaz Sharif", "António Guterres", "France"]
    titles_only = "He met the U.N. Permanent Representative."
    assert [titles_only[s:e] for s, e, _ in typed_spans(titles_only, "name", set())] == [
        "U.N. Permanent Representative"  # only titles: nothing to drop them for
    ]
