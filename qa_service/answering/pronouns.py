"""The name behind a pronoun: "..., he said" answers "who" only with the person named a few sentences before."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qa_service.answering.short_answer import OffsetSpan, anchors, quote_doc, slot_tokens, subject_of
from qa_service.text.nlp import PERSONAL_PRONOUNS, is_personal_pronoun, pipeline, trim

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Span

    from qa_service.answering.question import QuestionAnalysis


def answer_pronoun(
    question: QuestionAnalysis, quote: str, span: OffsetSpan | None, *, nlp: Language | None = None
) -> str | None:
    """The personal pronoun standing where a who-question's answer should be ("..., he said"), or None."""
    nlp = pipeline(nlp)
    if question.kind != "person" or not any(t.lower_ in PERSONAL_PRONOUNS for t in nlp.tokenizer(quote)):
        return None  # no pronoun to stand where the answer should: the tokenizer alone says so, no parse
    doc = quote_doc(quote, nlp)
    if span is not None:
        chosen = doc.char_span(span[0], span[1], alignment_mode="expand")
        if chosen is not None and any(e.label_ == "PERSON" for e in chosen.ents):
            return None
    slots, _ = slot_tokens(doc, question, anchors(doc, question))
    if not slots:
        root = next((t for t in doc if t.dep_ == "ROOT"), None)
        subject = subject_of(root) if root is not None else None
        slots = {subject.i} if subject is not None else set()
    return next((doc[i].text for i in sorted(slots) if is_personal_pronoun(doc[i])), None)


def find_antecedent(
    sentences_before: list[str], pronoun: str, *, nlp: Language | None = None
) -> tuple[int, int, int] | None:
    """(sentence index, start, end) of the person a pronoun most likely refers to, in the sentences before it.

    The nearest sentence (last in the list) that names a person wins; in it, a grammatical subject before
    other mentions, then the first mention. "they" also takes an organisation, a nationality or a plural
    noun phrase. Gender is not guessed from names (no name list is shipped); the parse decides.
    """
    nlp = pipeline(nlp)
    plural = pronoun.lower() in ("they", "them", "their")
    for index in range(len(sentences_before) - 1, -1, -1):
        doc = quote_doc(sentences_before[index], nlp)
        mentions: list[Span] = [
            e for e in doc.ents if e.label_ in (("PERSON", "ORG", "NORP") if plural else ("PERSON",))
        ]
        for chunk in doc.noun_chunks:  # a subject that is a name the NER missed or mislabelled ("Bilawal" ORG)
            if chunk.root.dep_ in ("nsubj", "nsubjpass") and chunk.root.ent_type_ in ("", "PERSON", "ORG"):
                if chunk.root.pos_ == "PROPN" and chunk.root.tag_ != "NNPS" and not plural:
                    mentions.append(chunk)
                elif plural and (chunk.root.tag_ in ("NNS", "NNPS") or chunk.root.pos_ == "NOUN"):
                    mentions.append(chunk)  # "they": the group that is the subject ("the delegation")
        if not mentions:
            continue
        subjects = [m for m in mentions if m.root.dep_ in ("nsubj", "nsubjpass")]
        best = (subjects or sorted(mentions, key=lambda m: m.start))[0]
        start, end = trim(doc, best.start, best.end)
        chosen = doc[start:end]
        return index, chosen.start_char, chosen.end_char
    return None
