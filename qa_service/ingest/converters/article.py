"""What a converter hands on: an article's raw text and the metadata its format carried."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Article:
    """Raw article text (still to be cleaned by `ingest.make_document`) and what the format said about it.

    `name` is how messages name it: the file, `file:line` for a row of an export, or the URL."""

    text: str
    name: str
    title: str | None = None
    date: str | None = None  # ISO YYYY-MM-DD
    source: str | None = None  # the outlet (site name)
    url: str | None = None
    author: str | None = None
    doc_id: str | None = None  # given by an export row


@dataclass(frozen=True)
class ArticleError:
    """One article that could not be read (a bad row, a page with no article text), named as `Article.name` is."""

    name: str
    message: str
