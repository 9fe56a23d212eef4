"""Saved web pages reduced to the article with trafilatura: main text without navigation, ads and comments;
title, publication date, author, outlet (site name) and canonical URL as metadata."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlsplit

from qa_service.errors import InvalidDocumentError
from qa_service.ingest.converters.article import Article
from qa_service.ingest.converters.byline import date_near_title
from qa_service.ingest.converters.text import with_date_line

MIN_ARTICLE_WORDS = 20  # a 404 page, a cookie wall or an index page leaves a line or two; an article has more
_DATE_PARAMS = {"extensive_search": False, "original_date": True}  # metadata only: "© 2025" is no date


def convert(data: bytes | str, name: str, *, url: str | None = None, outlet: str | None = None) -> Article:
    """The article of one page (bytes: trafilatura finds the encoding); raises when there is no article text.

    The outlet is the page's site name, else `outlet` (a feed's title), else the host name."""
    import trafilatura  # 0.3 s to import: only when a page comes
    from trafilatura.settings import Document

    extracted = trafilatura.bare_extraction(
        data,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        favor_precision=True,
        date_extraction_params=_DATE_PARAMS,
    )
    # a Document, or None when the page has no body (a dict only with as_dict=True)
    text = (extracted.text if isinstance(extracted, Document) else None) or ""
    if not isinstance(extracted, Document) or len(text.split()) < MIN_ARTICLE_WORDS:
        raise InvalidDocumentError("no article text found on this page (navigation, a notice or an index page only)")
    canonical = extracted.url or url
    site = extracted.sitename
    if (
        site
        and url
        and site.lower().removeprefix("www.") in (urlsplit(url).netloc.lower().removeprefix("www."), _host(url))
    ):
        site = None  # trafilatura names a page without a site name by its host: a feed's title says more
    outlet = site or outlet or _host(canonical)
    article = with_date_line(
        text,
        name,
        title=extracted.title or None,
        date=extracted.date or None,
        source=outlet or None,
        url=canonical or None,
        author=extracted.author or None,
    )
    if article.date is None:  # no metadata and no date line kept: a byline the extractor dropped, by the title
        article = replace(article, date=date_near_title(visible_lines(data), article.title))
    return article


_BLOCKS = ("p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "time", "header", "section", "article", "br", "td")


def visible_lines(data: bytes | str) -> list[str]:
    """The page's text as it shows, one line per block (menus, banners and bylines included), without scripts."""
    from lxml import etree
    from lxml import html as lxml_html

    try:
        root = lxml_html.fromstring(data)
    except (etree.ParserError, ValueError):
        return []
    for hidden in root.xpath("//script|//style|//noscript|//template|//head"):
        hidden.drop_tree()
    for block in root.iter(*_BLOCKS):
        block.text = "\n" + (block.text or "")
        block.tail = "\n" + (block.tail or "")
    return [" ".join(line.split()) for line in root.text_content().split("\n") if line.strip()]


def _host(url: str | None) -> str | None:
    host = urlsplit(url).hostname if url else None
    return host.removeprefix("www.") if host else None
