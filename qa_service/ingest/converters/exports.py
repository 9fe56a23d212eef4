"""Archive exports: JSON Lines and CSV files with one article per row, read as a stream.

Columns (JSON keys): `text` (required), `title`, `date` (any form `dates.parse_date` reads), `source` (the
outlet), `url`, `author`, `doc_id`; others are ignored. A bad row is reported as `file:line` and the rest go on.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

from qa_service.ingest.converters.article import Article, ArticleError
from qa_service.ingest.converters.dates import parse_date

COLUMNS = ("text", "title", "date", "source", "url", "author", "doc_id")
_OPTIONAL = COLUMNS[1:]


def read_jsonl(path: Path, name: str) -> Iterator[Article | ArticleError]:
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
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


def read_csv(path: Path, name: str) -> Iterator[Article | ArticleError]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # an article is one field: far over the 128 KB default
    with path.open(encoding="utf-8-sig", errors="strict", newline="") as handle:
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


def count_rows(path: Path) -> int:
    """About how many articles an export holds (its non-empty lines; CSV: rows), for a progress bar."""
    try:
        if path.suffix.lower() == ".csv":
            csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
            with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
                return max(0, sum(1 for _ in csv.reader(handle)) - 1)
        with path.open("rb") as handle:
            return sum(1 for line in handle if line.strip())
    except (OSError, csv.Error):
        return 0


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
