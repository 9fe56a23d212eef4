"""RSS, Atom (feedparser) and JSON feeds: the entries' page URLs, titles and dates, so `ingest --feed` can fetch
each entry's page. Entry dates keep the zone they were written in ("Sun, 14 Sep 2025 00:30 +0200" is the 14th).
Which kind a feed is comes from its content, not the type it was served with (servers disagree on that)."""

from __future__ import annotations

import email.utils
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from qa_service.errors import InvalidDocumentError
from qa_service.ingest.converters.dates import parse_date
from qa_service.ingest.fetch import FEED_TYPES, Fetcher


@dataclass(frozen=True)
class FeedEntry:
    url: str
    title: str | None
    date: str | None  # ISO YYYY-MM-DD
    author: str | None


@dataclass(frozen=True)
class Feed:
    url: str | None  # where it was fetched from (None: a file)
    title: str | None  # the feed's own title, often the outlet's name
    entries: list[FeedEntry]
    skipped: int  # entries without a link


def is_url(value: str) -> bool:
    return value.lower().startswith(("http://", "https://"))


def read_feed(source: str, fetcher: Fetcher) -> Feed:
    """A feed from a URL (fetched through the SSRF guard) or a file; InvalidDocumentError when it is not one."""
    if is_url(source):
        fetched = fetcher.fetch(source, FEED_TYPES)
        return parse_feed(fetched.content, base_url=fetched.url)
    try:
        data = Path(source).read_bytes()
    except OSError as exc:
        raise InvalidDocumentError(f"cannot read feed file ({exc.strerror})") from exc
    return parse_feed(data, base_url=None)


def parse_feed(data: bytes, *, base_url: str | None) -> Feed:
    """The feed in `data`, whatever it was served as: JSON Feed when it is a JSON object, else RSS or Atom."""
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return _json_feed(data, base_url)
    import feedparser  # only when a feed is read

    parsed = feedparser.parse(data)
    if not parsed.entries and (parsed.bozo or not parsed.version):
        reason = getattr(parsed.get("bozo_exception"), "args", ("",))[0] or "no RSS or Atom elements"
        raise InvalidDocumentError(f"not an RSS, Atom or JSON feed ({reason})")
    return _feed(parsed.feed.get("title"), parsed.entries, base_url)


def _json_feed(data: bytes, base_url: str | None) -> Feed:
    """JSON Feed 1 and 1.1 (jsonfeed.org), read into feedparser's entry keys (feedparser 6.0 does not read it)."""
    try:
        feed = json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidDocumentError(f"not an RSS, Atom or JSON feed ({exc})") from None
    if not isinstance(feed, dict) or not str(feed.get("version", "")).startswith("https://jsonfeed.org/version/"):
        raise InvalidDocumentError("not an RSS, Atom or JSON feed (a JSON object without a jsonfeed.org version)")
    entries: list[dict[str, str]] = []
    for item in feed.get("items") or []:
        if not isinstance(item, dict):
            continue
        authors = item.get("authors") or ([item["author"]] if isinstance(item.get("author"), dict) else [])
        names = [str(a.get("name")) for a in authors if isinstance(a, dict) and a.get("name")]
        entries.append(
            {
                "link": str(item.get("url") or item.get("external_url") or ""),
                "title": str(item.get("title") or ""),
                "published": str(item.get("date_published") or item.get("date_modified") or ""),
                "author": ", ".join(names),
            }
        )
    title = feed.get("title")
    return _feed(title if isinstance(title, str) else None, entries, base_url)


def _feed(title: str | None, items: Sequence[Mapping[str, Any]], base_url: str | None) -> Feed:
    entries: list[FeedEntry] = []
    skipped = 0
    for entry in items:
        link = (entry.get("link") or "").strip()
        if not link:
            skipped += 1
            continue
        entries.append(
            FeedEntry(
                url=urljoin(base_url, link) if base_url else link,
                title=(entry.get("title") or "").strip() or None,
                date=_entry_date(entry.get("published") or entry.get("updated") or ""),
                author=(entry.get("author") or "").strip() or None,
            )
        )
    return Feed(url=base_url, title=(title or "").strip() or None, entries=entries, skipped=skipped)


def _entry_date(value: str) -> str | None:
    """RSS dates are RFC 822 ("Sun, 14 Sep 2025 08:30:00 +0200"), Atom's ISO 8601: the day as written."""
    if not value.strip():
        return None
    try:
        return email.utils.parsedate_to_datetime(value).date().isoformat()
    except (TypeError, ValueError):
        return parse_date(value)
