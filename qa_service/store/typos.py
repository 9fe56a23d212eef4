"""What counts as a typo of a word, one definition for every store ("the articles never mention X").

A typo is one letter or digit changed, added or dropped after the first two characters of a word of at least
three: the embedded store looks for stored terms among these variants (they share the word's first two
characters: one range of its terms table), Milvus searches its keyword index for all of them in one request
(it does not list its vocabulary). Both answer "is this word, or a typo of it, in some chunk" alike.
"""

from __future__ import annotations

import string

TYPO_PREFIX = 2  # characters a typo leaves alone: "rivertn" is "riverton", "tiverton" is another town
TYPO_MIN_LENGTH = 3  # shorter words: a typo cannot be told from another word
ALPHABET = string.ascii_lowercase + string.digits  # what a typo may put in (terms are lowercased)


def variants(term: str) -> frozenset[str]:
    """Every word one edit away from `term` under the rule above (empty for a word too short)."""
    if len(term) < TYPO_MIN_LENGTH:
        return frozenset()
    out: set[str] = set()
    for i in range(TYPO_PREFIX, len(term) + 1):
        head, tail = term[:i], term[i:]
        out.update(head + c + tail for c in ALPHABET)  # added
        if tail:
            out.add(head + tail[1:])  # dropped
            out.update(head + c + tail[1:] for c in ALPHABET)  # changed
    out.discard(term)
    return frozenset(out)
