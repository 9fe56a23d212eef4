"""The short answer inside a quote ("the right words in bold"): the one choice of them for both answerers
(`short_answer`), from the reader's span, spaCy's entities, noun chunks and parse, and the stored phrases.

The answerer chooses the sentence(s); this module chooses the few words in them that answer the question, or
none when nothing fits well. It reads the question's analysis and the quote (one parse of the quote, a few
milliseconds), never the corpus.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

from qa_service.answering.fit import LOCATIVE, phrase_fit
from qa_service.answering.question import FIGURE_KINDS, TYPED_KINDS, YEAR
from qa_service.text.nlp import (
    LIGHT_VERBS,
    NUMERIC_LABELS,
    has,
    is_content,
    is_personal_pronoun,
    key,
    pipeline,
    trim,
)
from qa_service.text.phrases import NOUN_PHRASE

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, Token

    from qa_service.answering.candidates import Candidate
    from qa_service.answering.context import AnswerContext
    from qa_service.answering.question import QuestionAnalysis
    from qa_service.store.base import TypedSpan

OffsetSpan = tuple[int, int]  # (start, end) character offsets inside the quote
_ARTICLES = ("", "the", "a", "an")  # a stored noun phrase starts after its article
_LIST_GAP = re.compile(r",\s*(?:(?:and|or)\s+)?|\s+(?:and|or)\s+")  # between two items of a list
# which rule chose the bold words (`"explain": true` says it)
BY_READER = "the reader's span, widened to the typed phrase it touches"
BY_PARSE = "the parse's pick in the quote"
BY_PHRASE = "the typed phrase that made the sentence a candidate"


class Bold(NamedTuple):
    """The short answer in document offsets, and the rule that chose it."""

    start: int
    end: int
    rule: str


@lru_cache(maxsize=256)
def quote_doc(quote: str, nlp: Language) -> Doc:
    """One parse per text of an article, shared (read-only afterwards) by `pick_short_answer` and
    `pronouns.answer_pronoun` (the quote) and by `pronouns.find_antecedent` (the sentences before it), within a
    question and across questions over the same article."""
    return nlp(quote)


@dataclass(frozen=True)
class Weights:
    """How a candidate's signals add up (coordinate search on SQuAD v1.1 oracle sentences; checked on v2.0, seeds)."""

    fit: float = 2.5  # the candidate's kind fits what is asked (0..1)
    novelty: float = 0.4  # share of its words the question does not have
    slot: float = 0.8  # it sits where the answer should (subject/object/prep object of the question's verb)
    related: float = 1.5  # it is an X for "which X"
    counted: float = 1.6  # it counts the X of "how many X"
    describes: float = 0.5  # penalty: it describes a name the question gives (apposition)
    tree: float = 0.06  # penalty per dependency edge to the nearest question word (up to 8)
    linear: float = 0.02  # penalty per token to the nearest question word (up to 20)
    minimum: float = 1.0  # below this total, no bold at all


WEIGHTS = Weights()


@dataclass
class _Candidate:
    start: int  # token indices in the quote's Doc
    end: int
    label: str | None  # entity label, None for a noun chunk
    score: float = 0.0


def _candidates(doc: Doc) -> list[_Candidate]:
    """Entities and noun chunks, without leading determiners, plus what people accept as one answer.

    Added: "14 of the 15" (two numbers joined), "Beyoncé and Bruno Mars" (a list of same-kind entities) and
    each candidate without a leading possessor ("Miami's Sun Life Stadium" -> "Sun Life Stadium").
    """
    out: dict[tuple[int, int], _Candidate] = {}

    def add(start: int, end: int, label: str | None) -> None:
        start, end = trim(doc, start, end)
        if start < end:
            out.setdefault((start, end), _Candidate(start, end, label))
            owner = next((t.i for t in doc[start:end] if t.tag_ == "POS" and t.i < end - 1), None)
            if owner is not None:
                out.setdefault((owner + 1, end), _Candidate(owner + 1, end, label))

    ents = list(doc.ents)
    for i, ent in enumerate(ents):
        start, end = ent.start, ent.end
        following = ents[i + 1] if i + 1 < len(ents) else None
        if following is not None and following.label_ == ent.label_:
            between = [t.lower_ for t in doc[end : following.start]]
            if ent.label_ in NUMERIC_LABELS and between in (
                ["of"],
                ["of", "the"],
                ["out", "of"],
                ["to"],
                ["-"],
                ["or"],
            ):
                end = following.end  # "14 of the 15", "10 to 12"
            elif between in (["and"], [",", "and"], ["or"]):
                add(start, following.end, ent.label_)  # "Beyoncé and Bruno Mars"
        if (
            ent.label_ == "PERSON"
            and following is not None
            and following.label_ in ("GPE", "LOC", "ORG", "PERSON")
            and [t.lower_ for t in doc[end : following.start]] == ["of"]
        ):
            add(start, following.end, "PERSON")  # "William of Montreuil", "Richard I of Normandy"
        add(start, end, ent.label_)
    for chunk in doc.noun_chunks:
        if doc[chunk.root.i].pos_ != "PRON":
            add(chunk.start, chunk.end, None)
    return list(out.values())


def _tree_distance(a: Token, b: Token) -> int:
    """Edges between two tokens in the dependency tree."""
    ancestors = {a.i: 0}
    for depth, node in enumerate(a.ancestors, start=1):
        ancestors[node.i] = depth
    if b.i in ancestors:
        return ancestors[b.i]
    for depth, node in enumerate([b, *b.ancestors]):
        if node.i in ancestors:
            return depth + ancestors[node.i]
    return len(a.doc)


def _governing_verb(token: Token) -> Token | None:
    for node in [token, *token.ancestors]:
        if node.pos_ in ("VERB", "AUX") and any(c.dep_ in ("nsubj", "nsubjpass") for c in node.children):
            return node
    return None


def subject_of(verb: Token) -> Token | None:
    subject = next((c for c in verb.children if c.dep_ in ("nsubj", "nsubjpass")), None)
    if subject is None and verb.dep_ in ("xcomp", "conj", "advcl") and verb.head is not verb:
        return subject_of(verb.head)
    return subject


def slot_tokens(doc: Doc, question: QuestionAnalysis, anchors: list[Token]) -> tuple[set[int], bool]:
    """Token indices that sit where the answer should: subject/object/prep object of the question's verb.

    With no verb in common, a "who" subject is the subject of the clause that holds the question's other
    words ("Who met Dorothy Shea?" on "At a separate engagement with ..., Dorothy Shea, the delegation
    highlighted ...": the delegation); the flag says the slots came that way.
    """
    slots: set[int] = set()
    # The question's verb as a verb of the quote; any question word counts, the question's own tags can be wrong
    # ("Where did the Broncos practice?" tags "practice" a noun).
    verbs = [
        t
        for t in doc
        if t.pos_ in ("VERB", "AUX")
        and t.lemma_.lower() not in LIGHT_VERBS
        and t.dep_ != "amod"  # "Indian-administered Kashmir" is a name, not a clause
        and (has(t, question.verbs) or has(t, question.content))
    ]
    for verb in verbs:
        passive = any(c.dep_ in ("nsubjpass", "auxpass") for c in verb.children)
        for child in verb.children:
            dep = child.dep_
            if question.role == "subject":
                if dep == "nsubj":
                    slots.add(child.i)
                elif dep == "agent":  # "led by X", with or without an auxiliary
                    slots.update(c.i for c in child.children if c.dep_ == "pobj")
            elif question.role == "object":
                if dep in ("dobj", "attr", "oprd", "dative") or (passive and dep == "nsubjpass"):
                    slots.add(child.i)
            elif question.role and question.role.startswith("prep:"):
                prep = question.role[5:]
                if dep == "prep" and child.lower_ == prep:
                    slots.update(c.i for c in child.children if c.dep_ == "pobj")
            if question.kind in ("date", "place", "duration") and dep == "prep":
                slots.update(c.i for c in child.children if c.dep_ == "pobj")
        if question.role == "subject" and not any(c.dep_ in ("nsubj", "agent") for c in verb.children):
            subject = subject_of(verb)
            if subject is not None:
                slots.add(subject.i)
    by_clause = not slots and question.role == "subject"
    if by_clause:
        governors = {v.i: v for a in anchors if (v := _governing_verb(a)) is not None}
        if not governors and question.kind == "person":  # no question word in a clause: the main clause's subject
            root = next((t for t in doc if t.dep_ == "ROOT"), None)
            governors = {root.i: root} if root is not None else {}
        for verb in governors.values():
            subject = subject_of(verb)
            if subject is not None and subject not in anchors:
                slots.add(subject.i)
    if not question.verbs:  # "Who was the MVP?": what stands in apposition or copula with the question's nouns
        for anchor in anchors:
            slots.update(c.i for c in anchor.children if c.dep_ == "appos")
            if anchor.dep_ in ("compound", "amod") and anchor.pos_ in ("NOUN", "ADJ") and anchor.head.pos_ == "PROPN":
                slots.add(anchor.head.i)  # "his fiancée Berengaria" for "Who was Richard's fiancee?"
            if anchor.dep_ in ("appos", "attr", "oprd"):
                slots.update(c.i for c in anchor.head.children if c.dep_ in ("nsubj", "nsubjpass", "appos"))
                if anchor.dep_ == "appos":
                    slots.add(anchor.head.i)
    for i in list(slots):  # "Bruno Mars, who headlined ...": the relative pronoun stands for the noun
        token = doc[i]
        if token.tag_ in ("WP", "WDT") and token.head.dep_ == "relcl":
            slots.discard(i)
            slots.add(token.head.head.i)
    for i in list(slots):  # "Special Assistant to the Prime Minister Syed Tariq Fatemi": the title's name
        following = next((e for e in doc.ents if e.start > i and e.label_ == "PERSON"), None)
        if following is not None and all(t.pos_ in ("PROPN", "DET", "ADP") for t in doc[i + 1 : following.start]):
            slots.update(range(following.start, following.end))
    for i in list(slots):  # "the AFC champion, the Denver Broncos": the apposition names the slot
        token = doc[i]
        slots.update(c.i for c in token.children if c.dep_ == "appos")
        if token.dep_ == "appos":
            slots.add(token.head.i)
    return slots, by_clause and bool(slots)


def _relates_to(doc: Doc, cand: _Candidate, target: str) -> bool:
    """The candidate is an X for "which X" / "how many X": headed by X, or X's modifier, compound or apposition."""
    span = doc[cand.start : cand.end]
    root = span.root
    target = key(target)
    if key(root.lemma_) == target and cand.end - cand.start > 1:
        return True
    for token in span:
        head = token.head
        if token.dep_ == "pobj" and head.lower_ == "of":  # "the ambassadors of 14 of the 15"
            head = head.head
        elif token.dep_ not in ("nummod", "compound", "appos", "amod", "poss", "quantmod"):
            continue
        if key(head.lemma_) == target and not (cand.start <= head.i < cand.end):
            return True
    return any(key(c.lemma_) == target and c.dep_ in ("compound", "appos", "nmod") for c in root.children)


def _fit(doc: Doc, cand: _Candidate, question: QuestionAnalysis) -> float:
    """How well the candidate's kind fits what the question asks (0: not at all): `fit.phrase_fit` on its text,
    with what the parse adds: a proper noun the recogniser missed answers "who"; "in X" answers "where"."""
    span = doc[cand.start : cand.end]
    fit = phrase_fit(question, cand.label or NOUN_PHRASE, doc.text, span.start_char, span.end_char)
    proper = span.root.pos_ == "PROPN"
    if question.kind == "person":
        fit = max(fit, 0.5 if proper else 0.3)  # a name the NER missed, or "the delegation"
    elif question.kind == "place" and span.root.dep_ == "pobj" and span.root.head.lower_ in LOCATIVE:
        fit = max(fit, 0.6 if proper else 0.4)
    elif question.kind in ("thing", "org"):
        fit = max(fit, 0.4 if cand.label or proper else 0.3)
    return fit


def _score(
    doc: Doc, cand: _Candidate, question: QuestionAnalysis, anchors: list[Token], slots: set[int], by_clause: bool
) -> float | None:
    span = doc[cand.start : cand.end]
    words = [t for t in span if not (t.is_punct or t.is_space)]
    content = [t for t in words if not t.is_stop] or words
    if not content or all(t.pos_ == "PRON" for t in words):
        return None
    new = [t for t in content if not has(t, question.content)]
    novelty = len(new) / len(content)
    if novelty == 0:
        return None
    fit = _fit(doc, cand, question)
    if fit == 0:
        return None
    related = bool(question.target) and _relates_to(doc, cand, question.target or "")
    in_slot = any(t.i in slots for t in span)
    if in_slot and by_clause and question.kind == "person" and cand.label is None and span.root.pos_ != "PROPN":
        fit = max(fit, 0.6)  # "the delegation" as the subject of the clause naming the question's X
    # In apposition with a name the question gives ("the U.N., Dorothy Shea" for "Who met Dorothy Shea?"): a
    # description of what the question names, not the answer, unless the question only asks what that is.
    root = span.root
    describes = (root.dep_ == "appos" and root.head in anchors) or any(
        c.dep_ == "appos" and c in anchors for c in root.children
    )
    distance = min((_tree_distance(span.root, a) for a in anchors), default=6)
    linear = min((min(abs(a.i - cand.start), abs(a.i - (cand.end - 1))) for a in anchors), default=10)
    w = WEIGHTS
    related_weight = (
        w.counted if question.kind in FIGURE_KINDS else w.related
    )  # "seven turnovers" for "How many turnovers?"
    score = w.fit * fit + w.novelty * (0.5 + 0.5 * novelty) + (w.slot if in_slot else 0.0)
    score += related_weight if related else 0.0
    score -= w.describes if describes and question.verbs else 0.0
    score -= w.tree * min(distance, 8) + w.linear * min(linear, 20)
    cand.score = score
    return score


def anchors(doc: Doc, question: QuestionAnalysis) -> list[Token]:
    """Quote tokens that repeat the question's words (by lemma or form)."""
    return [t for t in doc if is_content(t) and has(t, question.content)]


def short_answer(
    context: AnswerContext, best: Candidate, start: int, end: int, reader_span: tuple[int, int] | None = None
) -> Bold | None:
    """The bold words in the quote `start:end`, the one choice of them for both answerers, first that holds:
    the reader's span widened to the typed phrase it touches (`_widened`); the parse's pick in the quote (it knows
    where an answer sits: subject, object, apposition); the typed phrase that made the sentence a candidate."""
    text = context.documents[best.sentence.doc_id].text
    if reader_span is not None:
        span = _widened(context, best, *reader_span)
        if span is not None and start <= span[0] and span[1] <= end:
            return _tidy(context.question, text, (start, end), Bold(*span, BY_READER))
    found = pick_short_answer(context.question, text[start:end])
    if found is not None:
        return _tidy(context.question, text, (start, end), Bold(start + found[0], start + found[1], BY_PARSE))
    phrase = best.phrase
    if phrase is None or not (start <= phrase.start and phrase.end <= end) or best.typed < 0.5:
        return None
    return _tidy(context.question, text, (start, end), Bold(phrase.start, phrase.end, BY_PHRASE))


def _tidy(question: QuestionAnalysis, text: str, quote: tuple[int, int], bold: Bold) -> Bold:
    """Without what the bold need not repeat or cannot hold alone: a trailing possessive ("Peyton Manning's"), an
    opened parenthesis ("(OIC" is closed where the text closes it, else left out), a quote mark it does not both
    open and close, the words before a figure ("at least 128": `_from_the_figure`), and the counted thing of "how
    many X" after its number ("How many punts ...?" -> "27", not "27 punts"; units the question does not name
    stay: "how long" -> "four years"); for "what year", the year ("2012", not "early 2012")."""
    start, end = bold.start, bold.end
    if text[start:end].endswith(("'s", "\u2019s")) and end - 2 > start:
        end -= 2
    bolded = text[start:end]
    if bolded.count("(") > bolded.count(")"):  # "the Organization of Islamic Cooperation (OIC": close it, or stop
        close = text.find(")", end, min(end + 12, quote[1]))
        closed = close != -1 and "(" not in text[end:close]
        end = close + 1 if closed else _cut(start, end, bolded[: bolded.rindex("(")])
    end = _quotes_closed(text, quote, start, end)
    if question.kind in ("number", "percent", "measure"):
        start = _from_the_figure(text, quote[0], start, end)
    if question.wh == "how many" and question.target:  # "27 punts", "an 11-year career": the number
        words = re.split(r"[ -](?=[^ -]+$)", text[start:end])
        if len(words) == 2 and key(words[1]) == key(question.target):
            end = start + len(words[0])
    if question.kind == "date" and question.target == "year":  # "early 2012", "the end of the 1993 season"
        years = list(YEAR.finditer(text, start, end))
        if len(years) == 1:
            start, end = years[0].span()
    return bold._replace(start=start, end=end) if end > start else bold


def _from_the_figure(text: str, quote_start: int, start: int, end: int) -> int:
    """Where the figure starts when only plain words come before it ("at least 128", "more than 500", "only six",
    "age 38": the quote still shows them, the bold is the figure asked for, as news and SQuAD readers write it).
    An article, a capitalised word inside the quote (a currency, a name) or a symbol keeps the phrase whole."""
    from spacy.lang.en import lex_attrs

    like_num: Callable[[str], bool] = lex_attrs.like_num  # a plain function: "six", "7,500", "third"

    for word in re.finditer(r"\S+", text[start:end]):
        if any(c.isdigit() for c in word.group()) or like_num(word.group().lower()):
            return start + word.start()
        first = start + word.start() == quote_start
        if not word.group().isalpha() or word.group().lower() in _ARTICLES or not (word.group().islower() or first):
            return start
    return start


def _quotes_closed(text: str, quote: tuple[int, int], start: int, end: int) -> int:
    """The bold's end with every quotation mark in it matched: one it closes but did not open ends it before the
    mark ('Crash the Super Bowl" contest' begun inside the quotation: 'Crash the Super Bowl'); one it opens runs
    to where the text closes it, within a few words ('the "largest open-air prison after Gaza"'), else ends it."""
    bolded = text[start:end]
    if bolded.count('"') % 2 == 1:
        if text[quote[0] : start].count('"') % 2 == 1:
            return _cut(start, end, bolded[: bolded.index('"')])
        return _to_closing(text, quote[1], start, end, bolded.rindex('"'), '"')
    opened: list[int] = []
    for i, ch in enumerate(bolded):
        if ch == "\u201c":
            opened.append(i)
        elif ch == "\u201d":
            if not opened:
                return _cut(start, end, bolded[:i])
            opened.pop()
    return _to_closing(text, quote[1], start, end, opened[0], "\u201d") if opened else end


def _to_closing(text: str, limit: int, start: int, end: int, mark: int, closing: str) -> int:
    """`end` moved past the mark that closes the one at `start + mark`, when it is near and before `limit` (the
    quote's end); else cut before it."""
    close = text.find(closing, end, min(end + 80, limit))
    return close + 1 if close != -1 else _cut(start, end, text[start : start + mark])


def _cut(start: int, end: int, kept: str) -> int:
    """The end of the bold cut to `kept` (without trailing spaces and commas), or `end` when nothing is kept."""
    kept = kept.rstrip(" ,;:")
    return start + len(kept) if kept else end


def _widened(context: AnswerContext, candidate: Candidate, start: int, end: int) -> tuple[int, int] | None:
    """The reader's span (document offsets), widened to whole words and to every named or counted phrase it
    touches ("modernist", not the word piece "modern"; "$3.2bn", not "3.2").

    When the question asks for a kind of thing (a person, a date, a figure) and the span is a clause, the answer
    is the first pass's phrase of that kind inside it, else the phrase the clause opens with: "the delegation",
    not "the delegation highlighted the long-standing cooperation". A span that is one phrase already is kept
    whole where that phrase only opens it ("Denver Broncos", not "Denver"; "the Santa Clara Marriott"), and
    narrowed where it ends it (a title before a name: "tight end Greg Olsen" -> "Greg Olsen")."""
    text = context.documents[candidate.sentence.doc_id].text
    while start > 0 and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while end < len(text) and text[end - 1].isalnum() and text[end].isalnum():
        end += 1
    phrases = context.phrases(candidate.sentence)
    phrase = candidate.phrase
    if context.question.kind in TYPED_KINDS:
        whole = _bare(text, start, end) in {_bare(text, p.start, p.end) for p in phrases}
        if phrase is not None and start <= phrase.start and phrase.end <= end:
            if not whole or _bare(text, start, end)[0] < phrase.start:
                start, end = phrase.start, phrase.end
        elif not whole:  # a clause that opens with a phrase ("the delegation highlighted ..."): the phrase
            opening = [
                p
                for p in phrases
                if start <= p.start and p.end < end and text[start : p.start].strip().lower() in _ARTICLES
            ]
            if opening:
                end = max(p.end for p in opening)
    for typed in phrases:
        if typed.label != NOUN_PHRASE and typed.start < end and start < typed.end:
            start, end = min(start, typed.start), max(end, typed.end)
    if context.question.plural and context.question.kind not in FIGURE_KINDS:
        start, end = _listed(text, phrases, start, end)
    if context.question.kind in ("person", "org"):  # a nationality names nobody: "British officials", not "British"
        bare = _bare(text, start, end)
        if any(p.label == "NORP" and (p.start, p.end) == bare for p in phrases):
            start, end = next(
                ((p.start, p.end) for p in phrases if p.label == NOUN_PHRASE and p.start <= bare[0] and p.end > end),
                (start, end),
            )
    while end > start and text[end - 1] in ".,;:":
        end -= 1
    return (start, end) if end > start else None


def _listed(text: str, phrases: Sequence[TypedSpan], start: int, end: int) -> tuple[int, int]:
    """The span with the names of its kind listed beside it, for a question that asks for several ("Which
    cities ...?": "New York, Washington DC and London", not "New York")."""
    label = next((p.label for p in phrases if p.label != NOUN_PHRASE and p.start < end and start < p.end), None)
    same = [p for p in phrases if p.label == label]
    grown = label is not None
    while grown:
        grown = False
        for p in same:
            if p.start >= end and _LIST_GAP.fullmatch(text, end, p.start):
                end, grown = p.end, True
            elif p.end <= start and _LIST_GAP.fullmatch(text, p.end, start):
                start, grown = p.start, True
    return start, end


def _bare(text: str, start: int, end: int) -> tuple[int, int]:
    """The span without a leading article: how a stored noun phrase is cut ("the Santa Clara Marriott")."""
    first = text[start:end].split(" ", 1)
    if len(first) == 2 and first[0].lower() in _ARTICLES[1:]:
        start += len(first[0]) + 1
    return start, end


def pick_short_answer(question: QuestionAnalysis, quote: str, *, nlp: Language | None = None) -> OffsetSpan | None:
    """(start, end) inside `quote` of the words that answer `question`, or None when nothing fits well.

    Candidates are spaCy entities and noun chunks. Each is scored by how its label fits what the question
    asks (who: PERSON/ORG/NORP or a person-like phrase; when: DATE/TIME; how many: CARDINAL/QUANTITY/...;
    where: GPE/LOC/FAC; which X: a phrase headed by or in apposition with X), whether it sits where the answer
    should (subject, object or prepositional object of the question's verb), how much of it is new to the
    question, and how close it is in the parse to the question's words.
    """
    nlp = pipeline(nlp)
    if question.kind is None:
        return None
    doc = quote_doc(quote, nlp)
    anchored = anchors(doc, question)
    slots, by_clause = slot_tokens(doc, question, anchored)
    # A person-like phrase ("the delegation") answers "who" only where the quote names no new person.
    by_clause = by_clause and not any(
        e.label_ == "PERSON" and any(not has(t, question.content) for t in e) for e in doc.ents
    )
    if question.kind == "person" and any(is_personal_pronoun(doc[i]) for i in slots):
        return None  # "..., he said": the answer is a pronoun; see answer_pronoun / find_antecedent
    scored = [
        (s, c) for c in _candidates(doc) if (s := _score(doc, c, question, anchored, slots, by_clause)) is not None
    ]
    if not scored:
        return None
    score, best = max(scored, key=lambda sc: sc[0])
    if score < WEIGHTS.minimum:
        return None
    start, end = best.start, best.end
    target = frozenset({key(question.target)}) if question.target else frozenset()
    # What the question already says is not part of the answer: "Senator Bushra Anjum Butt" for "Which senator...?"
    while end - start > 1 and (has(doc[start], question.common) or has(doc[start], target) or doc[start].is_punct):
        if not any(t.pos_ in ("PROPN", "NUM") for t in doc[start + 1 : end]):
            break  # "senator" in "Senator Bushra Anjum Butt", never a part of the name the question spells
        start += 1
    if question.kind in FIGURE_KINDS:  # "27 punts" for "How many punts...?" is "27"
        while end - start > 1 and (has(doc[end - 1], question.content) or has(doc[end - 1], target)):
            end -= 1
    if question.target == "year":  # "May 21, 2013" or "early 2012" for "What year...?" is the year
        year = next((t.i for t in doc[start:end] if t.shape_ == "dddd"), None)
        if year is not None:
            start, end = year, year + 1
    if best.label is None and start > 0 and doc[start - 1].dep_ == "det" and doc[start - 1].lower_ == "the":
        start -= 1  # a description reads as one with its article: "the delegation", not "delegation"
    span = doc[start:end]
    return span.start_char, span.end_char
