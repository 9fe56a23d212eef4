"""What `AnswerContext` derives once per question (sentence, title and passage terms; the question's weights) is
what analysing the text again gives, and is never carried from one question to another (real model, seeds)."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from qa_service.answering.context import AnswerContext
from qa_service.answering.question import analyse_question
from qa_service.service import QAService
from qa_service.store import StoreReader
from qa_service.text.terms import terms

from .conftest import hand_context


def context_for(service: QAService, reader: StoreReader, question: str) -> AnswerContext:
    analysis = analyse_question(question)
    vector = service.embedder.embed([question])[0]
    hits = service.retriever.search(reader, vector, analysis.terms, service.settings.top_k, None)
    return AnswerContext.build(reader, analysis, vector, hits)


def analysed(text: str) -> set[str]:
    return set(terms(text))


def test_kept_terms_are_those_of_the_text(seed_service: QAService) -> None:
    """Sentence terms come from the store, a title's and a passage's are made once: all equal `terms` of the text."""
    with seed_service.store.read() as reader:
        context = context_for(seed_service, reader, "Who met Dorothy Shea?")
        sentences = [s for loaded in context.sentences.values() for s in loaded]
        assert sentences and all(s.terms is not None for s in sentences), "stored at ingest, read with the sentence"
        for sentence in sentences:
            own = analysed(context.sentence_text(sentence))
            assert context.sentence_terms(sentence) == own
            previous = context.neighbour(sentence, -1)
            before = analysed(context.sentence_text(previous)) if previous is not None else set()
            title = analysed(context.documents[sentence.doc_id].title or "")
            assert context.context_terms(sentence) == own | before | title
        for hit in context.hits:
            assert context.passage_terms(hit) == analysed(context.chunk_text(hit))


def test_sentences_stored_without_terms_are_analysed(seed_service: QAService) -> None:
    """An index written before sentence terms (terms None) gives the same terms, made here."""
    with seed_service.store.read() as reader:
        context = context_for(seed_service, reader, "Who met Dorothy Shea?")
        context.sentences = {d: [replace(s, terms=None) for s in loaded] for d, loaded in context.sentences.items()}
        for sentence in (s for loaded in context.sentences.values() for s in loaded):
            assert context.sentence_terms(sentence) == analysed(context.sentence_text(sentence))
        for hit in context.hits:
            assert context.passage_terms(hit) == analysed(context.chunk_text(hit))


def expected_overlap(reader: StoreReader, question: str, sentence_terms: frozenset[str]) -> float:
    """The idf-weighted share of the question's words in the sentence, computed from scratch."""
    wanted = set(terms(question))
    total, frequencies = reader.sentence_frequencies(sorted(wanted))
    total = max(1, total)
    weight = {t: math.log(1 + total / frequencies[t]) if frequencies.get(t) else math.log(1 + total) for t in wanted}
    return sum(w for t, w in weight.items() if t in sentence_terms) / sum(weight.values())


def test_two_questions_over_the_same_sentences_each_weigh_their_own_words(seed_service: QAService) -> None:
    """The question's word weights are kept per context: asking a second question, then the first again, over the
    same sentences scores each with its own words."""
    questions = ("Who met Dorothy Shea?", "How much did the trip of the delegation cost?")
    with seed_service.store.read() as reader:
        contexts = [context_for(seed_service, reader, q) for q in questions]
        for context, question in [*zip(contexts, questions, strict=True), (contexts[0], questions[0])]:
            for loaded in context.sentences.values():
                for sentence in loaded:
                    own = context.sentence_terms(sentence)
                    assert context.overlap(own) == pytest.approx(expected_overlap(reader, question, own))
        by_key = [{(s.doc_id, s.ordinal): s for ss in c.sentences.values() for s in ss} for c in contexts]
        shared = [by_key[0][k] for k in by_key[0].keys() & by_key[1].keys()]
        assert any(
            contexts[0].overlap(contexts[0].sentence_terms(s)) != contexts[1].overlap(contexts[1].sentence_terms(s))
            for s in shared
        ), "a sentence both questions read weighs differently for each"


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("Hervé met Zoë.\u00a0The café’s owner left. Ünal stayed.", [(0, 14), (15, 37), (38, 50)]),
        ("Alpha met Beta.Gamma said so. Delta agreed.", [(0, 15), (15, 29), (30, 43)]),  # no space after "."
        ("The alphabet test works. Nothing else.", [(0, 6), (6, 24), (25, 38)]),  # a span cut inside a word
        ("ΟΔΟΣ ΚΑΙ ΣΟΦΙΑΣ. Next one here.", [(0, 16), (17, 31)]),
    ],
)
def test_passage_terms_cut_only_where_a_space_stands(text: str, sentences: list[tuple[int, int]]) -> None:
    """A passage's terms are its stored sentences' plus the rest analysed; a sentence that does not end or start
    at a space is analysed with its neighbours, so a word cut by a span is still one word."""
    for chunk in [(0, len(text)), (3, len(text) - 2), (sentences[0][1], len(text))]:
        context = hand_context(text, sentences, chunk)
        assert context.passage_terms(context.hits[0]) == analysed(text[chunk[0] : chunk[1]])
