"""What `ingest` reads, as one stream of articles: files and folders (every format in `converters/`), page URLs
and RSS/Atom feeds. Each article arrives as an `Incoming` (with the file or URL that owns its id) or, when it
cannot be read, as an `ArticleError` naming it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

from qa_service.converters import EXPORT_SUFFIXES, ArticleError, count_articles, html, read_articles
from qa_service.errors import FetchFailedError, FetchRefusedError, InvalidDocumentError
from qa_service.feeds import FeedEntry, read_feed
from qa_service.fetch import HTML_TYPES, Fetcher
from qa_service.indexing import AlreadyIndexed, Incoming
from qa_service.ingest import article_document, doc_id_from_name, doc_id_from_url, iter_article_files


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


def url_items(urls: list[str], fetcher: Fetcher) -> Iterator[Incoming | ArticleError]:
    """The article of each page URL (fetched through the SSRF guard); its id comes from the URL as given."""
    for url in urls:
        yield page_item(url, fetcher)


def feed_items(
    feeds: list[str], fetcher: Fetcher, indexed: Callable[[list[str]], set[str]]
) -> Iterator[Incoming | ArticleError | AlreadyIndexed]:
    """Each entry's page of each feed (URL or file). Entries whose page is indexed already are not fetched again,
    and a page whose text is indexed under another id is a duplicate: running this every hour follows a feed."""
    for source in feeds:
        try:
            feed = read_feed(source, fetcher)
        except (FetchRefusedError, FetchFailedError, InvalidDocumentError) as exc:
            yield ArticleError(source, str(exc))
            continue
        ids = {entry.url: doc_id_from_url(entry.url) for entry in feed.entries}
        known = indexed(list(ids.values()))
        for entry in feed.entries:
            if ids[entry.url] in known:
                yield AlreadyIndexed(ids[entry.url])
            else:
                yield page_item(entry.url, fetcher, entry=entry, outlet=feed.title)


def page_item(
    url: str, fetcher: Fetcher, *, entry: FeedEntry | None = None, outlet: str | None = None
) -> Incoming | ArticleError:
    """One page as an article; a feed entry fills in the title, date and author the page does not give."""
    try:
        fetched = fetcher.fetch(url, HTML_TYPES)
        article = html.convert(fetched.content, url, url=fetched.url, outlet=outlet)
        if entry is not None:
            article = replace(
                article,
                title=article.title or entry.title,
                date=article.date or entry.date,
                author=article.author or entry.author,
            )
        return Incoming(article_document(article, doc_id_from_url(url)), origin=url, name=url)
    except (FetchRefusedError, FetchFailedError, InvalidDocumentError) as exc:
        return ArticleError(url, str(exc))
