"""Which passages an abstention offers: related by meaning and sharing a word, or naming the question's names."""

from __future__ import annotations

from qa_service.answering.question import analyse_question
from qa_service.relatedness import mentioned_words, relation, whole_names

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
    assert names == ["Hina Rabbani Khar"] and related  # one person, named whole
    assert relation(analyse_question("What is the weather in London?"), PASSAGE, 0.10, threshold) == (["London"], False)


def test_a_name_of_the_question_is_mentioned_whole_where_the_passage_holds_all_its_words() -> None:
    question = analyse_question("Which university did Hina Rabbani Khar's team visit in Brussels?")
    assert "Hina Rabbani Khar" in question.names
    names, _ = relation(question, PASSAGE, 0.30, 0.25)
    assert names[0] == "Hina Rabbani Khar" and not {"Hina", "Rabbani", "Khar"} & set(names), names
    only_surname = "Khar spoke to the team."
    assert relation(question, only_surname, 0.30, 0.25)[0][0] == "Khar"  # not "Hina Rabbani Khar": it says only Khar
    assert whole_names(["Dorothy", "Shea", "met"], ["Dorothy Shea"]) == ["Dorothy Shea", "met"]
    assert whole_names(["met", "Shea", "Dorothy"], ["Dorothy Shea"]) == ["met", "Dorothy Shea"]
