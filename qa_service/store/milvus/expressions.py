"""Milvus filter expressions and VARCHAR values built safely from whatever ids and terms arrive."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

MAX_VARCHAR = 65_535  # bytes: Milvus' limit for one VARCHAR value


def quote(value: str) -> str:
    """A string literal for a Milvus filter expression (JSON escaping is what its parser reads)."""
    return json.dumps(value, ensure_ascii=False)


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
