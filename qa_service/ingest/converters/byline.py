"""Dates, authors and outlets printed at the top of an article rather than in its metadata: a date line
("Published: Mar. 22, 2005"), a byline ("Published: Feb. 16, 2005 · Daily Ledger · by Ann Lee") or a dateline
("WASHINGTON, March 22, 2005 — The council ..."). Only the first few lines count: further down, a date is news.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa_service.ingest.converters.dates import parse_date

WINDOW = 3  # non-empty lines looked at: a date line comes first, or right after the title
_MAX_BYLINE_CHARS = 160
_MAX_OUTLET_WORDS = 6
_PARTS = re.compile(r"\s*[|·•]\s*|\s+[—–]\s+")  # "date · outlet · by name", "By Ann Lee | Published: ..."
_BY = re.compile(r"^by\s+(?P<name>\S.*)$", re.IGNORECASE)
# "WASHINGTON, March 22, 2005 — ", "LONDON (Reuters), Mar. 22, 2005 - ": a place in capitals, the date, a dash
_DATELINE = re.compile(r"^[A-Z][A-Z .'/-]{1,40}(?:\([^)]{1,30}\))?,\s*(?P<date>[^—–]{6,40}?)\s*(?:[—–]|--?)\s")


@dataclass(frozen=True)
class Byline:
    date: str
    outlet: str | None = None
    author: str | None = None


def read_byline(line: str) -> Byline | None:
    """The date (and outlet and author) of a line that is only a date or a byline around one; else None."""
    line = line.strip()
    if not line or len(line) > _MAX_BYLINE_CHARS:
        return None
    if (date := parse_date(line)) is not None:
        return Byline(date)
    found: dict[str, str] = {}
    for part in filter(None, _PARTS.split(line)):
        if "date" not in found and (date := parse_date(part)) is not None:
            found["date"] = date
        elif "author" not in found and (by := _BY.match(part)):
            found["author"] = by["name"].strip()
        elif "outlet" not in found and _is_name(part):
            found["outlet"] = part
        else:
            return None  # a sentence with a date in it is text, not a byline
    if "date" not in found:
        return None
    return Byline(found["date"], found.get("outlet"), found.get("author"))


def _is_name(part: str) -> bool:
    words = part.split()
    return 0 < len(words) <= _MAX_OUTLET_WORDS and part[:1].isupper() and not part.endswith((".", "?", "!"))


def take_byline(lines: list[str]) -> Byline | None:
    """The byline among the first few non-empty lines, which is emptied (it is not article text)."""
    seen = 0
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        byline = read_byline(line)
        if byline is not None:
            lines[i] = ""
            return byline
        seen += 1
        if seen >= WINDOW:
            return None
    return None


def dateline_date(paragraph: str) -> str | None:
    """The date of a dateline opening a paragraph ("WASHINGTON, March 22, 2005 — ..."); the text stays."""
    match = _DATELINE.match(paragraph.strip())
    return parse_date(match["date"]) if match else None


def date_near_title(lines: list[str], title: str | None) -> str | None:
    """A page's date printed near its headline (a byline block the extractor dropped as boilerplate): among the
    few lines before and after the title's line in the page's visible text; None without a title to anchor on."""
    if not title:
        return None
    wanted = " ".join(title.split()).casefold()
    for i, line in enumerate(lines):
        shown = " ".join(line.split()).casefold()
        if shown == wanted or (len(shown) >= 12 and wanted.startswith(shown)):  # "Headline | Site" in <title>
            for near in [*lines[i + 1 : i + 1 + 2 * WINDOW], *reversed(lines[max(0, i - WINDOW) : i])]:
                byline = read_byline(near)
                date = byline.date if byline is not None else dateline_date(near)
                if date is not None:
                    return date
            return None
    return None
