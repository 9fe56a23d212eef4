"""Input formats: each file kind becomes `Article`s (raw text + metadata), one module per format.

`.txt` plain text, `.md` Markdown (markdown-it-py), `.html`/`.htm` saved web pages (trafilatura), `.jsonl`/`.csv`
archive exports (one article per row). Cleaning (`ingest.clean_text`) comes after, the same for every kind.
Nothing heavy is imported here: trafilatura and dateparser load when a page or a date needs them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from qa_service.errors import InvalidDocumentError
from qa_service.ingest.converters import exports, html, markdown, text
from qa_service.ingest.converters.article import Article, ArticleError
from qa_service.ingest.converters.files import read_regular_file, require_regular

__all__ = ["EXPORT_SUFFIXES", "SUPPORTED_SUFFIXES", "Article", "ArticleError", "read_articles"]

_ONE_ARTICLE: dict[str, Callable[[bytes, str], Article]] = {
    ".txt": text.convert,
    ".md": markdown.convert,
    ".markdown": markdown.convert,
    ".html": html.convert,
    ".htm": html.convert,
}
_EXPORTS = {".jsonl": exports.read_jsonl, ".csv": exports.read_csv}
EXPORT_SUFFIXES = tuple(_EXPORTS)
SUPPORTED_SUFFIXES = (*_ONE_ARTICLE, *_EXPORTS)


def read_articles(
    path: Path, name: str | None = None, read: Callable[[int], None] | None = None
) -> Iterator[Article | ArticleError]:
    """The articles of one file by its extension (an unknown one is read as plain text), lazily for exports;
    `read` is told the bytes of an export as they are read (a progress bar's estimate of its rows)."""
    name = name or str(path)
    suffix = path.suffix.lower()
    try:
        if suffix in _EXPORTS:
            require_regular(path)
            yield from _EXPORTS[suffix](path, name, read or _ignore)
            return
        data = read_regular_file(path)
    except OSError as exc:
        yield ArticleError(name, f"cannot read file ({exc.strerror})")
        return
    except InvalidDocumentError as exc:  # not a regular file
        yield ArticleError(name, str(exc))
        return
    try:
        yield _ONE_ARTICLE.get(suffix, text.convert)(data, name)
    except InvalidDocumentError as exc:
        yield ArticleError(name, str(exc))


def _ignore(size: int) -> None:
    """Bytes read that nobody counts."""
