"""What `ingest` reads, as one stream of articles: files and folders (every format in `converters/`), page URLs
and RSS/Atom feeds. Each article arrives as an `Incoming` (with the file or URL that owns its id) or, when it
cannot be read, as an `ArticleError` naming it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from pathlib import Path

from qa_service.budget import CpuBudget
from qa_service.errors import FetchFailedError, FetchRefusedError, InvalidDocumentError
from qa_service.ingest.clean import article_document, doc_id_from_name, doc_id_from_url, iter_article_files
from qa_service.ingest.converters import EXPORT_SUFFIXES, Article, ArticleError, html, read_articles
from qa_service.ingest.feeds import FeedEntry, read_feed
from qa_service.ingest.fetch import HTML_TYPES, Fetcher
from qa_service.ingest.indexer import AlreadyIndexed, Incoming

Budget = Callable[[str], CpuBudget]  # a new CPU budget for the article of this name (`Indexer.budget`)


class FileItems:
    """The articles of these files and folders, lazily (an export is read row by row); each one's reading and
    cleaning is charged to its own CPU budget, which goes on with it to the embedding. Links found in folders:
    see `clean.iter_article_files` (`notes` says which led out of the folder, or were left out).

    `expected()` is about how many articles it gives, for a progress bar, without reading a file for it (an
    export used to be read twice: to count its rows, then to ingest them): a file of one article is one; an
    export is its rows read so far and its bytes not yet read at their mean size so far (one until its first
    row), so the count is exact once every export is read."""

    def __init__(self, paths: list[Path], budget: Budget | None = None, *, follow_links: bool = True) -> None:
        self.paths, self.budget, self.follow_links = paths, budget, follow_links
        self.notes: dict[str, str] = {}
        self._counted: tuple[int, int, int] | None = None  # files of one article, exports, their bytes
        self._rows = 0  # export rows given so far
        self._read = 0  # and the bytes read to give them

    def expected(self) -> int:
        if self._counted is None:  # the folders are walked ahead; no file is opened
            files = list(iter_article_files(self.paths, follow_links=self.follow_links))
            exports = [path for path in files if path.suffix.lower() in EXPORT_SUFFIXES]
            self._counted = (len(files) - len(exports), len(exports), sum(map(_size, exports)))
        single, export_files, size = self._counted
        if not self._read:
            return single + export_files
        return single + max(self._rows, round(self._rows * size / self._read))

    def _bytes_read(self, size: int) -> None:
        self._read += size

    def __iter__(self) -> Iterator[Incoming | ArticleError]:
        for path in iter_article_files(self.paths, follow_links=self.follow_links, notes=self.notes):
            origin = str(path.resolve())
            # A file of one article is named by its file name; rows of an export by their doc_id, URL or text.
            export = path.suffix.lower() in EXPORT_SUFFIXES
            default_id = None if export else doc_id_from_name(path.stem)
            articles = read_articles(path, str(path), self._bytes_read)
            while True:
                cost = self.budget(str(path)) if self.budget is not None else None
                with _charged(cost):
                    item = next(articles, None)
                    if item is None:
                        break
                    result = _incoming(item, default_id, origin, cost)
                if export:
                    self._rows += 1
                yield result


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _incoming(
    item: Article | ArticleError, default_id: str | None, origin: str, cost: CpuBudget | None
) -> Incoming | ArticleError:
    if isinstance(item, ArticleError):
        return item
    if cost is not None:
        cost.name = item.name
    try:
        return Incoming(article_document(item, default_id), origin=origin, name=item.name, budget=cost)
    except InvalidDocumentError as exc:  # also DocumentTooCostlyError: over its budget while cleaned
        return ArticleError(item.name, str(exc))


def _charged(cost: CpuBudget | None) -> AbstractContextManager[object]:
    return cost.active() if cost is not None else nullcontext()


def url_items(urls: list[str], fetcher: Fetcher, budget: Budget | None = None) -> Iterator[Incoming | ArticleError]:
    """The article of each page URL (fetched through the SSRF guard); its id comes from the page's canonical URL
    (`ingest.doc_id_from_url`), not the address it was fetched from."""
    for url in urls:
        yield page_item(url, fetcher, budget=budget)


def feed_items(
    feeds: list[str],
    fetcher: Fetcher,
    indexed: Callable[[list[str]], set[str]],
    budget: Budget | None = None,
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
                yield page_item(entry.url, fetcher, entry=entry, outlet=feed.title, budget=budget)


def page_item(
    url: str,
    fetcher: Fetcher,
    *,
    entry: FeedEntry | None = None,
    outlet: str | None = None,
    budget: Budget | None = None,
) -> Incoming | ArticleError:
    """One page as an article; a feed entry fills in the title, date and author the page does not give. The
    page's extraction and cleaning are charged to its CPU budget (the download is not)."""
    cost = budget(url) if budget is not None else None
    try:
        fetched = fetcher.fetch(url, HTML_TYPES)
        with _charged(cost):
            article = html.convert(fetched.content, url, url=fetched.url, outlet=outlet)
            if entry is not None:
                article = replace(
                    article,
                    title=article.title or entry.title,
                    date=article.date or entry.date,
                    author=article.author or entry.author,
                )
            document = article_document(article, doc_id_from_url(article.url or fetched.url))  # the canonical URL
        return Incoming(document, origin=url, name=url, budget=cost)
    except (FetchRefusedError, FetchFailedError, InvalidDocumentError) as exc:
        return ArticleError(url, str(exc))
