"""Archive exports: JSON Lines and CSV files with one article per row, read as a stream.

Columns (JSON keys): `text` (required), `title`, `date` (any form `dates.parse_date` reads), `source` (the
outlet), `url`, `author`, `doc_id`; others are ignored. A bad row is reported as `file:line` and the rest go on.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from qa_service.ingest.converters.article import Article, ArticleError
from qa_service.ingest.converters.dates import parse_date

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

COLUMNS = ("text", "title", "date", "source", "url", "author", "doc_id")
_OPTIONAL = COLUMNS[1:]


def read_jsonl(path: Path, name: str, read: Callable[[int], None]) -> Iterator[Article | ArticleError]:
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            read(len(raw))
            where = f"{name}:{number}"
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                yield ArticleError(where, f"not valid UTF-8 text (byte {exc.start} of the line)")
                continue
            if line.strip():
                yield json_row(line, where)


def json_row(line: str, where: str) -> Article | ArticleError:
    """One JSON Lines row as an article (the CLI's exports and `POST /documents/batch` read rows alike)."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        return ArticleError(where, f"not a JSON object ({exc.msg} at column {exc.colno})")
    return row_article(row, where)


def read_csv(path: Path, name: str, read: Callable[[int], None]) -> Iterator[Article | ArticleError]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # an article is one field: far over the 128 KB default
    counted = io.BufferedReader(_Counted(path.open("rb"), read))  # closes the file with it
    with io.TextIOWrapper(counted, encoding="utf-8-sig", errors="strict", newline="") as handle:
        rows = csv.DictReader(handle)
        try:
            header = rows.fieldnames or []
            if "text" not in header:
                yield ArticleError(name, f"no `text` column (the header has: {', '.join(header) or 'nothing'})")
                return
            start = rows.line_num + 1  # a quoted field may span lines: a row is named by its first
            for row in rows:
                yield row_article(row, f"{name}:{start}")
                start = rows.line_num + 1
        except UnicodeDecodeError as exc:
            yield ArticleError(name, f"not valid UTF-8 text (byte {exc.start} of a block near line {rows.line_num})")
        except csv.Error as exc:
            yield ArticleError(f"{name}:{rows.line_num}", f"not CSV: {exc}")


class _Counted(io.RawIOBase):
    """A binary file that tells `read` how many bytes each read gave: the CSV reader's progress."""

    def __init__(self, raw: io.BufferedReader, read: Callable[[int], None]) -> None:
        super().__init__()
        self.raw, self.read_bytes = raw, read

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.raw.close()
        super().close()

    def readinto(self, buffer: WriteableBuffer) -> int:
        size = self.raw.readinto(buffer)
        self.read_bytes(size)
        return size


def ignored_columns(row: Mapping[str, object]) -> list[str]:
    """The keys of a row that are no article field (`section`, `tags`): ignored, and said so where it can be."""
    return [key for key in row if key not in COLUMNS]


def row_article(row: object, where: str) -> Article | ArticleError:
    """One export row (a JSON object or a CSV row) as an article; dates in any form `parse_date` reads."""
    if not isinstance(row, Mapping):
        return ArticleError(where, f"not a JSON object but {type(row).__name__}")
    text = row.get("text")
    if not isinstance(text, str) or not text.strip():
        return ArticleError(where, "no `text` (a non-empty string is required)")
    values: dict[str, str | None] = {}
    for column in _OPTIONAL:
        value = row.get(column)
        if value is None or (isinstance(value, str) and not value.strip()):
            values[column] = None
        elif isinstance(value, str | int | float) and not isinstance(value, bool):
            values[column] = str(value).strip()
        else:
            return ArticleError(where, f"`{column}` must be a string, not {type(value).__name__}")
    if values["date"] is not None:
        date = parse_date(values["date"])
        if date is None:
            return ArticleError(where, f"`date` {values['date']!r} is not a date (e.g. 2025-09-14 or Sept. 14, 2025)")
        values["date"] = date
    return Article(text=text, name=where, **values)
