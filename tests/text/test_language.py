"""Questions in another language are named as such (only English is understood); English ones never are."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from qa_service.ingest.clean import make_document
from qa_service.service import QAService
from qa_service.text.language import english_only_words, question_language
from tests.api.test_inputs_api import ARTICLES
from tests.conftest import ROOT, SEED_QUESTION

FOREIGN = {
    "Qui a rencontré Dorothy Shea ?": "fr",
    "¿Quién se reunió con Dorothy Shea?": "es",
    "Wer hat Dorothy Shea getroffen?": "de",
    "Was hat Bilawal gesagt?": "de",  # "was" and "hat" are English words too
    "Chi ha incontrato Dorothy Shea?": "it",
    "Quem se encontrou com Dorothy Shea?": "pt",
    "Wie heeft Dorothy Shea ontmoet?": "nl",
    "Kto spotkał się z Dorothy Shea?": "pl",
    "Kim Dorothy Shea ile görüştü?": "tr",
    "ڈوروتھی شیا سے کس نے ملاقات کی؟": "ur",
    "डोरोथी शी से कौन मिला?": "hi",
    "Кто встретился с Дороти Ши?": "ru",
    "谁会见了多萝西·谢伊？": "zh",
    "誰がドロシー・シアに会いましたか？": "ja",
}

# English questions a language identifier alone gets wrong: names, few words, words other languages share.
ENGLISH = [
    SEED_QUESTION,  # fastText alone: Dutch, 0.8
    "who met shea",
    "Khurram Dastgir Khan?",
    "Tehmina Janjua met Shea",
    "Bilawal?",
    "PTI?",
    "Indus Waters Treaty",
    "ceasefire May 10",
    "2025",
    "",
]


@pytest.mark.parametrize(("question", "language"), FOREIGN.items())
def test_a_question_in_another_language_is_named(question: str, language: str) -> None:
    assert question_language(question) == language


@pytest.mark.parametrize("question", ENGLISH)
def test_short_english_questions_full_of_names_are_english(question: str) -> None:
    assert question_language(question) is None


def test_no_question_of_the_evaluation_sets_is_taken_for_another_language() -> None:
    questions = [
        json.loads(line)["question"]
        for name in ("questions.jsonl", "check_questions.jsonl")
        for line in (ROOT / "eval" / name).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    assert len(questions) > 100
    assert [q for q in questions if question_language(q)] == []


def test_english_evidence_is_words_no_neighbouring_language_uses() -> None:
    words = english_only_words()
    assert {"who", "the", "did", "which", "how"} <= words
    assert not {"a", "in", "was", "die", "me", "so", "hat"} & words  # French, German, Italian ... use them too


def test_the_answer_says_the_question_is_not_english(client: TestClient) -> None:
    body = client.post("/ask", json={"question": "Qui a rencontré Dorothy Shea ?"}).json()
    assert body["question_language"] == "fr"
    assert client.post("/ask", json={"question": SEED_QUESTION}).json()["question_language"] is None


@pytest.mark.parametrize("store_kind", ["embedded"])
def test_a_question_in_another_language_is_declined_unless_it_names_what_the_articles_mention(
    fresh_service: QAService,
) -> None:
    fresh_service.write([make_document(t, i, date=d, source=s) for i, s, d, t in ARTICLES])
    declined = fresh_service.ask("le tram reliera le port avec quoi ?")  # once answered with the tram sentence
    assert declined.question_language == "fr"
    assert not declined.answerable and declined.answer is None and declined.citations == []
    named = fresh_service.ask("Combien de kilomètres de glace le glacier Morteratsch a-t-il perdus ?", explain=True)
    assert named.question_language == "fr"
    # "Morteratsch" is in the articles: the answerer weighs it (it may still abstain: the reader reads English)
    assert named.explanation is not None and named.explanation.candidates[0].doc_id == "wire-glacier"
    assert (
        declined.explanation is None
        and fresh_service.ask("le tram reliera le port avec quoi ?", explain=True).explanation is None
    )
