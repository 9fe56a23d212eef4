"""Text analysis shared by keyword retrieval and answer selection: terms and sentence spans."""

from __future__ import annotations

import re
from functools import lru_cache

import pysbd
import Stemmer

ANALYZER = "snowball-en-1"
"""Version of `terms`: stored keyword rows and term counts were made with it; change it when `terms` changes."""

_WORD = re.compile(r"\w+", re.UNICODE)

STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her
    here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not
    now of off on once only or other our ours ourselves out over own same she should so some such than that the
    their theirs them themselves then there these they this those through to too under until up very was we
    were what when where which while who whom whose why will with would you your yours yourself yourselves
    s t don shall may might must according""".split()
)


# Irregular verb forms the stemmer leaves alone, so "Who met X?" matches "meeting with X" and "meets".
_IRREGULAR = {
    "met": "meet",
    "won": "win",
    "led": "lead",
    "held": "hold",
    "said": "say",
    "told": "tell",
    "took": "take",
    "taken": "take",
    "gave": "give",
    "given": "give",
    "went": "go",
    "gone": "go",
    "came": "come",
    "made": "make",
    "sent": "send",
    "spoke": "speak",
    "spoken": "speak",
    "wrote": "write",
    "written": "write",
    "began": "begin",
    "begun": "begin",
    "chose": "choose",
    "chosen": "choose",
    "fought": "fight",
    "sought": "seek",
    "brought": "bring",
    "bought": "buy",
    "thought": "think",
    "built": "build",
    "left": "leave",
    "lost": "lose",
    "paid": "pay",
    "ran": "run",
    "saw": "see",
    "seen": "see",
    "knew": "know",
    "known": "know",
    "grew": "grow",
    "grown": "grow",
    "drove": "drive",
    "driven": "drive",
    "struck": "strike",
    "stood": "stand",
    "became": "become",
    "fell": "fall",
    "fallen": "fall",
    "flew": "fly",
    "flown": "fly",
    "rose": "rise",
    "risen": "rise",
    "beat": "beat",
    "beaten": "beat",
    "found": "find",
    "kept": "keep",
    "meant": "mean",
    "spent": "spend",
    "threw": "throw",
    "thrown": "throw",
    "wore": "wear",
    "worn": "wear",
    "sold": "sell",
    "heard": "hear",
    "fled": "flee",
}


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def terms(text: str) -> list[str]:
    """Lower-cased, stemmed content words: what BM25 and lexical overlap compare."""
    words = [_IRREGULAR.get(w, w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS and w != "_"]
    return _stemmer().stemWords(words)


@lru_cache(maxsize=1)
def _segmenter() -> pysbd.Segmenter:
    return pysbd.Segmenter(language="en", clean=False)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence; paragraphs never merge, and "U.S." or "1.7" never split."""
    spans: list[tuple[int, int]] = []
    for paragraph in re.finditer(r"[^\n]+", text):
        cursor = paragraph.start()
        for piece in _segmenter().segment(paragraph.group()):
            sentence = piece.strip()
            if not sentence:
                continue
            # Locate by search from a cursor: pysbd's own offsets drift on repeated sentences.
            start = text.find(sentence, cursor, paragraph.end())
            if start < 0:
                continue
            spans.append((start, start + len(sentence)))
            cursor = start + len(sentence)
    return spans
