"""Short answers: typed spans inside a quote."""

from __future__ import annotations

from qa_service.answering.spans import typed_spans


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
