"""Plain text articles: UTF-8, a date line near the top read as the publication date."""

from __future__ import annotations

from qa_service.errors import InvalidDocumentError
from qa_service.ingest.converters.article import Article
from qa_service.ingest.converters.dates import take_date_line


def decode(data: bytes) -> str:
    """UTF-8 (a byte-order mark is dropped); anything else is refused naming the first bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidDocumentError(f"not valid UTF-8 text (byte {exc.start})") from exc


def with_date_line(text: str, name: str, **metadata: str | None) -> Article:
    """An article whose date, when `metadata` has none, comes from a date line near the top (removed)."""
    lines = text.split("\n")
    date = metadata.pop("date", None) or take_date_line(lines)
    return Article(text="\n".join(lines), name=name, date=date, **metadata)


def convert(data: bytes, name: str) -> Article:
    return with_date_line(decode(data), name)
