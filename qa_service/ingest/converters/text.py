"""Plain text articles: UTF-8, a date line near the top read as the publication date."""

from __future__ import annotations

from qa_service.errors import InvalidDocumentError
from qa_service.ingest.converters.article import Article
from qa_service.ingest.converters.byline import WINDOW, dateline_date, take_byline


def decode(data: bytes) -> str:
    """UTF-8 (a byte-order mark is dropped); anything else is refused naming the first bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidDocumentError(f"not valid UTF-8 text (byte {exc.start})") from exc


def with_date_line(text: str, name: str, **metadata: str | None) -> Article:
    """An article whose date, when `metadata` has none, comes from a date line or byline near the top (removed
    from the text; a byline's outlet and author fill in what `metadata` lacks) or a dateline opening it."""
    lines = text.split("\n")
    date = metadata.pop("date", None)
    if date is None and (byline := take_byline(lines)) is not None:
        date = byline.date
        metadata["source"] = metadata.get("source") or byline.outlet
        metadata["author"] = metadata.get("author") or byline.author
    if date is None:
        opening = [line for line in lines if line.strip()][:WINDOW]
        date = next((d for line in opening if (d := dateline_date(line)) is not None), None)
    return Article(text="\n".join(lines), name=name, date=date, **metadata)


def convert(data: bytes, name: str) -> Article:
    return with_date_line(decode(data), name)
