"""Sentence boundaries (real spaCy parse): a quote mark stays with the sentence whose quote it closes or opens."""

from __future__ import annotations

import re

import pytest

from qa_service.text.phrases import read_sentences, sentence_spans

# A closing quote with no space after it ("...step."The delegation) is put by the parser at the start of the next
# sentence, where it reads as an opening quote of a sentence that quotes nobody.
GLUED = [
    'Khan called the visit "a historic step."The delegation left Washington on Friday.',
    "Khan called the visit “a historic step.”The delegation left Washington on Friday.",
    "Khan called the visit “a historic step.”(AP) The delegation left Washington on Friday.",
    'Shea said "the ties are strong."[2] The delegation left Washington on Friday.',
]


def _balanced(sentence: str) -> bool:
    return sentence.count('"') % 2 == 0 and sentence.count("“") == sentence.count("”")


@pytest.mark.parametrize("text", GLUED)
def test_a_closing_quote_mark_ends_its_own_sentence(text: str) -> None:
    spans = sentence_spans(text)
    sentences = [text[s:e] for s, e in spans]
    assert sentences[0].endswith(('step."', "step.”", 'strong."')), sentences
    assert all(_balanced(s) for s in sentences), sentences
    assert not any(s[0] in '"“”' for s in sentences[1:]), sentences
    assert any("The delegation left Washington on Friday." in s for s in sentences), sentences
    assert re.sub(r"\s", "", "".join(sentences)) == re.sub(r"\s", "", text)  # nothing lost or doubled


def test_a_quote_over_several_sentences_keeps_its_marks_at_its_ends() -> None:
    text = "Rehman told the gathering: “Water is a weapon now. We will not accept it.” Khar nodded."
    sentences = [text[s:e] for s, e in sentence_spans(text)]
    assert " ".join(sentences) == text
    assert sentences[-1] == "Khar nodded."


def test_phrases_stay_inside_their_sentence() -> None:
    text = 'Khan called the visit "a historic step."The delegation met Dorothy Shea in Washington on Friday.'
    spans, phrases = read_sentences(text)
    assert len(spans) == len(phrases)
    for (start, end), typed in zip(spans, phrases, strict=True):
        assert all(start <= p.start and p.end <= end for p in typed), (text[start:end], typed)
    assert any(text[p.start : p.end] == "Dorothy Shea" for typed in phrases for p in typed)
