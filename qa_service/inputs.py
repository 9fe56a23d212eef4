"""What `ingest` reads, as one stream of articles: files and folders (every format in `converters/`), page URLs
and RSS/Atom feeds. Each article arrives as an `Incoming` (with the file or URL that owns its id) or, when it
cannot be read, as an `ArticleError` naming it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from qa_service.converters import EXPORT_SUFFIXES, ArticleError, count_articles, read_articles
from qa_service.errors import InvalidDocumentError
from qa_service.indexing import Incoming
from qa_service.ingest import article_document, doc_id_from_name, iter_article_files


def file_items(paths: list[Path]) -> Iterator[Incoming | ArticleError]:
    """The articles of these files and folders, lazily (an export is read row by row)."""
    for path in iter_article_files(paths):
        origin = str(path.resolve())
        # A file of one article is named by its file name; rows of an export by their doc_id, URL or text.
        default_id = None if path.suffix.lower() in EXPORT_SUFFIXES else doc_id_from_name(path.stem)
        for item in read_articles(path, str(path)):
            if isinstance(item, ArticleError):
                yield item
                continue
            try:
                yield Incoming(article_document(item, default_id), origin=origin, name=item.name)
            except InvalidDocumentError as exc:
                yield ArticleError(item.name, str(exc))


def count_file_items(paths: list[Path]) -> int:
    """How many articles `file_items` will yield (files, plus the rows of exports), for a progress bar."""
    return sum(count_articles(path) for path in iter_article_files(paths))
