"""Milvus filter expressions and VARCHAR values built safely from whatever ids and terms arrive."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

MAX_VARCHAR = 65_535  # bytes: Milvus' limit for one VARCHAR value
_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def quote(value: str) -> str:
    r"""A string literal for a Milvus filter expression. Its parser knows only the escapes \\ \" \n \r \t
    (JSON's \b or \u001f is "unknown escape sequence" on Milvus Lite 3.2.2); every other character, control
    characters and NUL included, goes in as it is."""
    return '"' + value.translate(_ESCAPES) + '"'


def is_in(field: str, values: Iterable[str] | Iterable[int]) -> str:
    items = [quote(v) if isinstance(v, str) else str(int(v)) for v in values]
    return f"{field} in [{', '.join(items)}]"


def fit(words: Sequence[str]) -> str:
    """Terms joined by spaces, cut at a term boundary to fit a VARCHAR."""
    text = " ".join(words)
    if len(text.encode()) <= MAX_VARCHAR:
        return text
    cut = text.encode()[: MAX_VARCHAR + 1].decode(errors="ignore")
    return cut[: cut.rfind(" ")] if " " in cut else ""


def stored_terms(value: str | None) -> frozenset[str] | None:
    """The terms `fit` stored, or None where they may have been cut (over half a VARCHAR: answering analyses
    such a sentence again rather than trust a shortened list) or were not stored."""
    if value is None or len(value.encode()) > MAX_VARCHAR // 2:
        return None
    return frozenset(value.split())
