"""Answer matching: SQuAD normalisation, exact match, token F1, and whole-word containment."""

from __future__ import annotations

import pytest

from qa_service.evaluation.matching import best_of, contains_answer, exact_match, normalize_answer, token_f1

# ---- normalisation, EM, F1 ------------------------------------------------------------------------------


def test_normalize_answer_follows_squad() -> None:
    assert normalize_answer("The  Denver Broncos!") == "denver broncos"
    assert normalize_answer("An apple, a pear") == "apple pear"
    assert normalize_answer("“Fu Cong” — China’s envoy") == "fu cong chinas envoy"
    assert normalize_answer("four-day") == "fourday"
    assert normalize_answer("Theatre") == "theatre"  # "the" only as a whole word
    assert normalize_answer("  ") == ""


def test_exact_match_and_f1() -> None:
    assert exact_match("the Denver Broncos.", "Denver Broncos") == 1.0
    assert exact_match("Broncos", "Denver Broncos") == 0.0
    # 2 shared tokens: precision 2/3, recall 1 -> F1 0.8
    assert token_f1("Denver Broncos team", "Denver Broncos") == pytest.approx(0.8)
    assert token_f1("Carolina Panthers", "Denver Broncos") == 0.0
    # repeated tokens count only as often as they occur in both
    assert token_f1("new new york", "new york") == pytest.approx(0.8)
    assert token_f1("the", "a") == 1.0  # both normalise to nothing: equal, as in the official script
    assert token_f1("the", "Denver") == 0.0


def test_best_of_takes_max_over_gold_and_zero_for_abstention() -> None:
    golds = ["Denver Broncos", "Broncos"]
    assert best_of(exact_match, "Broncos", golds) == 1.0
    assert best_of(token_f1, "the Broncos won", golds) == pytest.approx(2 / 3)  # vs "Broncos"; 0.5 vs the other
    assert best_of(token_f1, None, golds) == 0.0
    assert best_of(token_f1, "anything", []) == 0.0


def test_contains_answer_matches_whole_words() -> None:
    assert contains_answer("It was led by Shashi Tharoor, a Congress MP.", ["Shashi Tharoor"])
    assert contains_answer("a nine-member group", ["nine"])
    assert contains_answer("the four-day conflict", ["four-day", "four days"])
    assert contains_answer("Bhutto-Zardari spoke", ["Bhutto Zardari"])
    assert contains_answer("“Guterres” said", ["António Guterres", "Guterres"])
    assert not contains_answer("the party met", ["art"])
    assert not contains_answer("Indian officials", ["India"])
    assert not contains_answer(None, ["India"])
    assert not contains_answer("the answer", ["the"])  # a gold answer that normalises to nothing never matches


@pytest.mark.parametrize(
    ("prediction", "gold"),
    [("$3.2bn", "3.2 billion"), ("45%", "45 per cent"), ("£5m", "5 million"), ("1.2 trillion", "$1.2tn")],
)
def test_a_whole_amount_or_percentage_matches_however_its_scale_is_spelt(prediction: str, gold: str) -> None:
    assert exact_match(prediction, gold) == 1.0
    assert exact_match("3.2", "$3.2bn") == 0.0  # the figure without its scale is not the amount
