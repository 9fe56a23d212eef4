"""Turn raw article files into clean `Document`s: strip what a reader would not call article text."""

from __future__ import annotations

import datetime
import hashlib
import os
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from qa_service.budget import check_size, checkpoint
from qa_service.errors import InvalidDocumentError
from qa_service.ingest.converters import SUPPORTED_SUFFIXES, Article, ArticleError, read_articles
from qa_service.schemas import Document

__all__ = ["SUPPORTED_SUFFIXES"]  # the extensions ingest reads in a folder (converters/)
MAX_DOC_ID_LENGTH = 128
DOC_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

_DATE_HEADER = re.compile(r"^\s*date\s*:?\s*(\d{4}-\d{2}-\d{2})\b[ \t]*", re.IGNORECASE)
_DATE_HEADER_LINES = 3  # a date line may follow a title (and a subtitle); further down it is article text
_BOILERPLATE_LINES = {
    "advertisement",
    "tags",
    "tags:",
    "no comments:",
    "no comments",
    "post a comment",
    "share this article",
    "comments",
}
_LINK_LINE = re.compile(r"^(read more|also read|see also|related)\s*:", re.IGNORECASE)
_TWEET_ATTRIBUTION = re.compile(r"^[—–-]{1,2}\s*.{1,80}\(@\w{1,30}\)\s+\w+\.? \d{1,2}, \d{4}$")
_TITLE_MAX_CHARS = 200
# ECMA-48: CSI (ESC [ ... final byte), OSC (ESC ] ... BEL or ESC \), and two-character escapes; C1's CSI too
_ANSI_ESCAPE = re.compile(r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # C0 but tab and newlines, DEL, C1
_LABEL_MAX_CHARS = 80  # a derived label is the opening words, about one line of a list


@dataclass(frozen=True)
class CleanedText:
    text: str
    title: str | None
    date: str | None


def _is_boilerplate(line: str) -> bool:
    lowered = line.lower()
    return (
        lowered in _BOILERPLATE_LINES
        or "pic.twitter.com" in lowered
        or bool(_LINK_LINE.match(line))
        or bool(_TWEET_ATTRIBUTION.match(line))
    )


def _drop_repeated_paragraphs(paragraphs: list[str]) -> list[str]:
    """Web pages often print the lead twice: once alone, once as the start of the body."""
    kept: list[str] = []
    seen: set[str] = set()  # a set, not `in kept`: 40,000 short lines took 24 s with the list
    for i, paragraph in enumerate(paragraphs):
        if paragraph in seen:
            continue
        following = paragraphs[i + 1] if i + 1 < len(paragraphs) else ""
        if len(paragraph) >= 40 and following != paragraph and following.startswith(paragraph):
            continue
        kept.append(paragraph)
        seen.add(paragraph)
    return kept


def _looks_like_title(line: str, has_more: bool) -> bool:
    return has_more and len(line) <= _TITLE_MAX_CHARS and not line.rstrip().endswith((".", "!", "?", ":", '"', "”"))


def _take_date_header(lines: list[str]) -> str | None:
    """The date of a `date YYYY-MM-DD` header among the first few lines (also after a title line), removed from them.

    Only a real calendar day counts: `date 2025-02-30` stays in the text as written.
    """
    seen = 0
    for i, line in enumerate(lines):
        if not line:
            continue
        match = _DATE_HEADER.match(line)
        if match and _is_calendar_date(match.group(1)):
            lines[i] = line[match.end() :].strip()
            return match.group(1)
        seen += 1
        if seen >= _DATE_HEADER_LINES:
            return None
    return None


def _is_calendar_date(value: str) -> bool:
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def strip_controls(text: str) -> str:
    """Terminal escape sequences and control characters out (tab and newline stay): stored, they reached a
    terminal through `qa-service ask`, which could recolour it, move the cursor or set its title."""
    return _CONTROL.sub("", _ANSI_ESCAPE.sub("", text))


def clean_text(raw: str) -> CleanedText:
    """Remove web boilerplate, keep the article's words exactly as written (citations quote them)."""
    text = unicodedata.normalize("NFC", raw).replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    text = strip_controls(text)
    checkpoint("cleaning")
    lines = [re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in text.split("\n")]
    date = _take_date_header(lines)
    checkpoint("cleaning")
    paragraphs = [line for line in lines if line and not _is_boilerplate(line)]
    paragraphs = _drop_repeated_paragraphs(paragraphs)
    checkpoint("cleaning")
    title = paragraphs[0] if paragraphs and _looks_like_title(paragraphs[0], len(paragraphs) > 1) else None
    return CleanedText(text="\n\n".join(paragraphs), title=title, date=date)


def document_label(text: str, title: str | None, sentences: Sequence[tuple[int, int]]) -> str:
    """A readable name for any article: its title, else its opening words (first sentence, cut at a word, "…").
    `sentences`: the (start, end) of the text's sentences as ingest found them (`text.phrases.read_sentences`),
    so the label costs no parse of its own.

    Three of the five seed articles have no title line; "Untitled article" beside a hash id tells a reader nothing.
    """
    if title and title.strip():
        return " ".join(title.split())
    begin = len(text) - len(text.lstrip())
    line_end = text.find("\n", begin)
    line_end = len(text) if line_end < 0 else line_end
    if sentences and sentences[0][0] == begin and sentences[0][1] <= line_end:
        opening = " ".join(text[sentences[0][0] : sentences[0][1]].split())
        if len(opening) <= _LABEL_MAX_CHARS:
            return opening.rstrip(".")
    first = " ".join(text[begin:line_end].split())
    if len(first) <= _LABEL_MAX_CHARS:
        return first or "Untitled article"
    cut = first[: _LABEL_MAX_CHARS + 1]
    space = cut.rfind(" ")
    words = cut[:space] if space > _LABEL_MAX_CHARS // 2 else cut[:_LABEL_MAX_CHARS]
    return words.rstrip(" ,;:—–-") + "…"


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def validate_doc_id(doc_id: str) -> str:
    """Ids end up in URLs and logs: no path separators, no `..`, bounded length."""
    if len(doc_id) > MAX_DOC_ID_LENGTH or not DOC_ID_PATTERN.match(doc_id) or ".." in doc_id:
        raise InvalidDocumentError(
            f"invalid doc_id {doc_id!r}: use 1-{MAX_DOC_ID_LENGTH} letters, digits, '.', '_' or '-', "
            "starting with a letter or digit, and no '..'"
        )
    return doc_id


def make_document(
    raw: str,
    doc_id: str,
    *,
    title: str | None = None,
    date: str | None = None,
    source: str | None = None,
    url: str | None = None,
    author: str | None = None,
) -> Document:
    """Clean raw text into a Document; explicit title/date override what the text itself says."""
    from qa_service.text.terms import WORD  # text analysis loads with it: not at import

    validate_doc_id(doc_id)
    cleaned = clean_text(raw)
    if not cleaned.text.strip():
        raise InvalidDocumentError(f"document {doc_id!r} has no article text after cleaning")
    if not WORD.search(cleaned.text):  # NUL bytes, zero-width spaces, punctuation: nothing to find or quote
        raise InvalidDocumentError(f"document {doc_id!r} has no words (no letter or digit) after cleaning")
    check_size(len(cleaned.text))  # QA_MAX_DOCUMENT_CHARS, before any model work (while a budget is active)
    title = strip_controls(title) if title else None
    return Document(
        doc_id=doc_id,
        text=cleaned.text,
        title=title or cleaned.title,
        date=date or cleaned.date,
        source=source,
        url=url,
        author=author,
        content_hash=content_hash(cleaned.text),
    )


def doc_id_from_name(name: str) -> str:
    """A valid id from a file name: "Café news (2).txt" -> "Cafe-news-2"; nothing usable left -> a hash."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"\.{2,}", ".", re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_name)).strip("-._")
    digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:12]
    if not slug:
        return f"doc-{digest}"
    if len(slug) > MAX_DOC_ID_LENGTH:
        return f"{slug[: MAX_DOC_ID_LENGTH - 13].rstrip('-._')}-{digest}"
    return slug


_GENERIC_PAGE_NAMES = {"index", "default", "article", "story", "amp", "print", "view", "page", "post", "news"}
_TRACKING_PREFIXES = ("utm_", "mc_")  # query keys that say who linked, not which page
_TRACKING_KEYS = {"fbclid", "gclid", "ref", "cmpid", "ito", "ocid", "at_medium", "at_campaign"}


def doc_id_from_url(url: str) -> str:
    """A stable, readable id from a page's (canonical) address, as a file's is from its name: the host and the
    last path segment without its extension ("https://www.ledger.example/2005/03/budget.html" -> "ledger.example-
    budget"); the whole path when that segment says nothing ("index.html"); a query that names the page is kept
    ("?id=7"), tracking parameters are not."""
    from urllib.parse import parse_qsl, urlencode, urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:  # "http://[": not a URL, yet still a name to make an id of
        return doc_id_from_name(url.split("://", 1)[-1])
    host = (parts.hostname or "").removeprefix("www.")
    segments = [segment for segment in parts.path.split("/") if segment]
    last = segments[-1].rsplit(".", 1)[0] if segments else ""
    path = "/".join(segments) if len(last) < 4 or last.lower() in _GENERIC_PAGE_NAMES else last
    kept = [(k, v) for k, v in parse_qsl(parts.query) if not k.lower().startswith(_TRACKING_PREFIXES)]
    query = urlencode([(k, v) for k, v in kept if k.lower() not in _TRACKING_KEYS])
    return doc_id_from_name(f"{host}-{path}".rstrip("-") + (f"?{query}" if query else ""))


def derived_id(url: str | None, text: str) -> str:
    """An article's id when none is given: from its URL, else from its text (the same text, the same id)."""
    return doc_id_from_url(url) if url else f"doc-{content_hash(text)[:16]}"


def article_document(article: Article, default_id: str | None = None) -> Document:
    """A converter's article as a Document: its own id (an export row's `doc_id`), else `default_id`, else one
    from its URL, else from its text (so the same row read again gets the same id and is skipped)."""
    doc_id = article.doc_id or default_id or derived_id(article.url, article.text)
    return make_document(
        article.text,
        doc_id,
        title=article.title,
        date=article.date,
        source=article.source,
        url=article.url,
        author=article.author,
    )


def load_file(path: Path) -> Document:
    """Read one article file (text, Markdown, a web page); InvalidDocumentError says why it cannot be."""
    for item in read_articles(path):
        if isinstance(item, ArticleError):
            raise InvalidDocumentError(item.message)
        return article_document(item, doc_id_from_name(path.stem))
    raise InvalidDocumentError("no article in this file")


def iter_article_files(
    paths: list[Path], *, follow_links: bool = True, notes: dict[str, str] | None = None
) -> Iterator[Path]:
    """Expand files and folders into article files lazily, in a reproducible order (sorted per folder).

    A file in a folder that is a symbolic link is followed, and `notes` says so when it leads out of the folder
    given (its target is read as well); with `follow_links=False` it is left out, and `notes` says that. A path
    given by name is always read.
    """
    for path in paths:
        if not path.is_dir():
            yield path
            continue
        root = path.resolve()
        for folder, subfolders, files in os.walk(path):
            subfolders.sort()
            for name in sorted(files):
                if Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
                    continue
                file = Path(folder) / name
                if file.is_symlink():
                    target = file.resolve()
                    if not follow_links:
                        _note(notes, file, "a symbolic link; not followed (--no-follow)")
                        continue
                    if not target.is_relative_to(root):
                        _note(notes, file, f"a symbolic link to {target}, outside {path}; read (--no-follow skips it)")
                yield file


def _note(notes: dict[str, str] | None, path: Path, message: str) -> None:
    if notes is not None:
        notes[str(path)] = message
