"""The reading answerer (the default) on the seed articles with the real, packaged reader."""

from __future__ import annotations

from fastapi.testclient import TestClient

from qa_service.answering import ExtractiveAnswerer
from qa_service.answering.reading import ReadingAnswerer
from qa_service.answering.short_answer import BY_READER
from qa_service.service import QAService

from .conftest import assert_citations_exact

ANSWERABLE = ("Who is China's Permanent Representative to the UN?", "Fu Cong")
UNANSWERABLE = "How much did the delegation's trip cost?"  # the trip is reported, its cost never


def test_the_reader_is_the_default_answerer(seed_service: QAService) -> None:
    assert isinstance(seed_service.answerer, ReadingAnswerer)


def test_the_reader_answers_what_the_articles_say(seed_service: QAService) -> None:
    question, expected = ANSWERABLE
    answer = seed_service.ask(question)
    assert answer.answerable and answer.answer_span is not None
    assert expected in answer.answer_span.text
    assert_citations_exact(seed_service, answer)


def test_the_reader_abstains_when_no_sentence_answers(seed_service: QAService) -> None:
    answer = seed_service.ask(UNANSWERABLE, explain=True)
    assert not answer.answerable and answer.citations == []
    assert answer.explanation is not None and "probability" in answer.explanation.decision


def test_explain_lists_the_candidates_with_the_reader_s_scores(seed_service: QAService) -> None:
    answer = seed_service.ask(ANSWERABLE[0], explain=True)
    explanation = answer.explanation
    assert explanation is not None and explanation.answerer == "reader"
    read = [c for c in explanation.candidates if c.reader is not None]
    assert len(read) == seed_service.answerer.policy.candidates  # type: ignore[attr-defined]
    chosen = [c for c in explanation.candidates if c.chosen]
    assert len(chosen) == 1 and chosen[0].reader is not None
    assert chosen[0].combined == max(c.combined for c in read if c.combined is not None)
    assert answer.citations[0].start <= chosen[0].start < answer.citations[0].end
    assert set(chosen[0].features) == {"dense", "overlap", "context", "chunk", "typed"}
    assert seed_service.ask(ANSWERABLE[0]).explanation is None  # only when asked for


def test_explain_over_http(client: TestClient) -> None:
    body = client.post("/ask", json={"question": ANSWERABLE[0], "explain": True}).json()
    assert body["explanation"]["candidates"] and body["explanation"]["decision"]
    assert client.post("/ask", json={"question": ANSWERABLE[0]}).json()["explanation"] is None


def test_rules_keep_today_s_path(seed_service: QAService) -> None:
    rules = ExtractiveAnswerer(min_score=0.35, max_answer_chars=300)
    assert rules.name == "rules"
    assert isinstance(seed_service.answerer, ReadingAnswerer) and seed_service.answerer.rules.name == "rules"


def test_the_short_answer_is_the_phrase_not_the_clause_the_reader_marked(seed_service: QAService) -> None:
    """The reader marks "the delegation highlighted the long-standing ... cooperation": a who-question's answer is
    the phrase that clause opens with."""
    answer = seed_service.ask("Who met Dorothy Shea?", explain=True)
    assert answer.answer_span is not None and answer.explanation is not None
    chosen = next(c for c in answer.explanation.candidates if c.chosen)
    assert chosen.reader_answer and len(chosen.reader_answer.split()) > len(answer.answer_span.text.split())
    assert answer.answer_span.text == "the delegation"
    assert answer.explanation.short_answer == BY_READER  # the explanation says which rule chose the bold words
