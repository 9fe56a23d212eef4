"""Answers on the seed corpus: right sentence, exact quotes, honest abstention (real model)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from qa_service.service import QAService

from ..conftest import ROOT
from .conftest import assert_citations_exact

QUESTIONS = [json.loads(line) for line in (ROOT / "eval/questions.jsonl").open()]


def test_dorothy_shea(seed_service: QAService) -> None:
    answer = seed_service.ask("Who met Dorothy Shea?")
    assert answer.answerable
    assert answer.citations[0].doc_id == "000_f6e0c52e4f6527ee"
    assert "Dorothy Shea" in (answer.answer or "")
    assert_citations_exact(seed_service, answer)


@pytest.mark.parametrize("item", QUESTIONS, ids=[q["id"] for q in QUESTIONS])
def test_citation_invariant_on_every_answer(seed_service: QAService, item: dict[str, Any]) -> None:
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


def test_an_answer_never_opens_with_the_closing_quote_mark_of_the_sentence_before(
    fresh_service: QAService, tmp_path: Path
) -> None:
    """A closing quote with no space after it ('..."a historic step."The delegation ...') ends its own sentence."""
    article = tmp_path / "visit.txt"
    article.write_text(
        "Delegation ends visit to Washington\n\n"
        'Bilawal Bhutto Zardari called the visit to Washington "a historic step for peace."The delegation left '
        "Washington for London on Friday, June 6, after meeting Dorothy Shea at the United Nations.\n",
        encoding="utf-8",
    )
    fresh_service.ingest_paths([article], progress=False)
    answer = fresh_service.ask("When did the delegation leave Washington for London?")
    assert answer.answerable, answer
    assert (answer.answer or "").startswith("The delegation left"), answer.answer
    assert_citations_exact(fresh_service, answer)
