"""The files of an ingest as one stream of articles: each file read once, and a progress total that ends exact."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from qa_service.ingest.converters import ArticleError
from qa_service.ingest.indexer import Incoming
from qa_service.ingest.sources import FileItems
from qa_service.service import QAService
from tests.store.conftest import fake_settings

STORY = "The ferry to {town} ran again on Monday after {n} days of storms closed the port."


def _folder(tmp_path: Path, rows: int) -> Path:
    """A text file, a JSON Lines export of `rows` rows (a blank line among them) and a CSV export of two rows,
    one of them a quoted text over two lines."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "ferry.txt").write_text(STORY.format(town="Oban", n=3), encoding="utf-8")
    lines = [json.dumps({"doc_id": f"row-{n:03d}", "text": STORY.format(town="Mull", n=n + 10)}) for n in range(rows)]
    lines.insert(2, "")
    (folder / "archive.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with (folder / "sheet.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["doc_id", "text"])
        writer.writerow(["csv-1", STORY.format(town="Iona", n=4)])
        writer.writerow(["csv-2", STORY.format(town="Coll", n=5).replace(" after ", "\nafter ")])
    return folder


def test_the_expected_count_is_estimated_from_bytes_and_exact_once_read(tmp_path: Path) -> None:
    files = FileItems([_folder(tmp_path, rows=10)])
    assert files.expected() == 3, "before any export is read: one a file"
    stream = iter(files)
    seen = [next(stream)]  # the first row of the JSON Lines export (the files are read in name order)
    assert isinstance(seen[0], Incoming) and seen[0].document.doc_id == "row-000"
    assert 9 <= files.expected() - 2 <= 14, "the rest of the export estimated at the size of the rows read"
    seen += list(stream)
    assert not [item for item in seen if isinstance(item, ArticleError)]
    assert len(seen) == files.expected() == 13


def test_an_ingest_with_progress_reads_each_export_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _folder(tmp_path, rows=10)
    opened: list[str] = []
    real_open = Path.open

    def spy(self: Path, *args: object, **kwargs: object) -> object:
        opened.append(self.name)
        return real_open(self, *args, **kwargs)  # type: ignore[call-overload]

    service = QAService(fake_settings(tmp_path / "index")).load()
    try:
        monkeypatch.setattr(Path, "open", spy)
        report = service.ingest_paths([folder], progress=True)
        monkeypatch.undo()
    finally:
        service.close()
    assert len(report.added) == 13 and not report.errors
    assert sorted(name for name in opened if name in {"archive.jsonl", "sheet.csv"}) == ["archive.jsonl", "sheet.csv"]
    assert "13/13" in capsys.readouterr().err, "the bar ends at the number of articles"
