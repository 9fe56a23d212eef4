"""Which passages an abstention offers: related by meaning and sharing a word, or naming the question's names."""

from __future__ import annotations

from qa_service.answering.question import analyse_question
from qa_service.relatedness import mentioned_words, relation

PASSAGE = (
    "Former foreign minister Hina Rabbani Khar told reporters in London that the delegation's meetings "
    "with Bilawal Bhutto Zardari's team were productive."
)


def test_mentions_are_the_question_words_the_passage_holds_names_first() -> None:
    words = mentioned_words("What did Hina Rabbani Khar tell the reporters in Brussels?", PASSAGE)
    assert words == ["Hina", "Rabbani", "Khar", "reporters", "tell"]  # "told" is "tell"; Brussels is not there
    assert mentioned_words("Which football club did Bilawal's team play for?", PASSAGE) == ["Bilawal", "team"]
    assert mentioned_words("Who won the 2022 FIFA World Cup?", PASSAGE) == []


def test_related_needs_a_shared_word_and_similarity_or_two_names() -> None:
    threshold = 0.25
    assert relation(analyse_question("Which club did Bilawal play for?"), PASSAGE, 0.30, threshold) == (
        ["Bilawal"],
        True,
    )
    assert relation(analyse_question("Which club did Bilawal play for?"), PASSAGE, 0.20, threshold) == (
        ["Bilawal"],
        False,
    )
    assert relation(analyse_question("What is the boiling point of water?"), PASSAGE, 0.90, threshold) == ([], False)
    names, related = relation(analyse_question("What did Hina Rabbani Khar say in Brussels?"), PASSAGE, 0.10, threshold)
    assert names == ["Hina", "Rabbani", "Khar"] and related
    assert relation(analyse_question("What is the weather in London?"), PASSAGE, 0.10, threshold) == (["London"], False)
