"""What makes an answer trustworthy at a glance, on the seed corpus with the real models: the name behind a
pronoun, the name behind a description, sources that agree or differ, and names the articles never mention."""

from __future__ import annotations

from qa_service.answering.extractive import BY_DESCRIPTION, BY_PRONOUN
from qa_service.schemas import Answer
from qa_service.service import QAService

from .conftest import assert_citations_exact


def _span_quote(answer: Answer) -> str:
    """The quote of the citation that holds the short answer."""
    assert answer.answer_span is not None
    citation = answer.citations[answer.answer_span.citation - 1]
    assert citation.start <= answer.answer_span.start < answer.answer_span.end <= citation.end
    return citation.quote


def test_a_name_behind_he_said(seed_service: QAService) -> None:
    answer = seed_service.ask("Who said the suspension endangers the livelihood of 240 million people?", explain=True)
    assert_citations_exact(seed_service, answer)
    assert answer.explanation is not None and answer.explanation.short_answer == BY_PRONOUN
    assert answer.answer is not None and "he said" in answer.answer
    assert answer.answer_span is not None and "Khurram Dastgir" in answer.answer_span.text
    assert answer.answer_span.text in _span_quote(answer)
    text = seed_service.get_document(answer.citations[0].doc_id).text
    assert text[answer.answer_span.start : answer.answer_span.end] == answer.answer_span.text


def test_a_name_behind_a_description(seed_service: QAService) -> None:
    answer = seed_service.ask("Which treaty did India suspend in April?", explain=True)
    assert_citations_exact(seed_service, answer)
    assert answer.explanation is not None and answer.explanation.short_answer == BY_DESCRIPTION
    assert "treaty, which India suspended in April" in (answer.answer or "")
    assert answer.answer_span is not None and answer.answer_span.text == "Indus Waters Treaty"
    assert answer.answer_span.citation == 2 and "Indus Waters Treaty" in _span_quote(answer)


def test_articles_that_give_another_number_are_flagged_with_both_quotes(seed_service: QAService) -> None:
    answer = seed_service.ask("How many global capitals did the Indian delegations visit?")
    assert_citations_exact(seed_service, answer)
    differs = [s for s in answer.sources if s.relation == "differs"]
    assert differs, answer.sources
    source = differs[0]
    assert source.citation.doc_id != answer.citations[0].doc_id
    assert source.value in source.citation.quote and source.answer_value in (answer.answer or "")
    assert {source.value, source.answer_value} == {"over 30", "33"}
    document = seed_service.get_document(source.citation.doc_id)
    assert document.text[source.citation.start : source.citation.end] == source.citation.quote


def test_articles_that_state_the_same_name_agree(seed_service: QAService) -> None:
    answer = seed_service.ask("Who leads the second Pakistani delegation, the one to Moscow?")
    assert answer.answer_span is not None and answer.answer_span.text == "Syed Tariq Fatemi"
    agrees = [s for s in answer.sources if s.relation == "agrees"]
    assert agrees and all("Syed Tariq Fatemi" in s.citation.quote for s in agrees)
    assert all(s.citation.doc_id != answer.citations[0].doc_id for s in agrees)


def test_a_place_the_articles_never_mention_is_named_in_the_abstention(seed_service: QAService) -> None:
    answer = seed_service.ask("Who did the delegation meet in Tokyo?")
    assert not answer.answerable and answer.not_found == ["Tokyo"]
    assert answer.citations == [] and answer.answer is None
    known = seed_service.ask("Who did the delegation meet in London?")
    assert known.not_found == []


def test_no_bold_when_nothing_fits(rules_seed_service: QAService) -> None:
    """The rules' short-answer picker bolds nothing when no phrase fits; the reader always marks its span."""
    answer = rules_seed_service.ask("Why did Pakistan send delegations abroad?")
    assert answer.answer_span is None
