"""Archive exports: JSON Lines and CSV, one article per row, streamed with resume by hash and errors by row."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from qa_service.service import QAService
from tests.store.conftest import fake_settings

ROWS = [
    {
        "doc_id": "quake-voa",
        "title": "Quake kills 128 in western Nepal",
        "date": "Nov. 4, 2023",
        "source": "Voice of America",
        "url": "https://voa.example/nepal-quake",
        "text": "At least 128 people were killed after a powerful quake hit western Nepal on Friday night.",
    },
    {
        "title": "Bridge reopens",
        "date": "2025-09-14T08:30:00+02:00",
        "source": "The Coastal Herald",
        "url": "https://coastalherald.example/news/bridge",
        "text": "The Kestrel Harbour bridge reopened to traffic on Sunday after two years of repairs.",
    },
    {"text": "Researchers measured the glacier's tongue with drones every autumn.", "source": "Alpine Wire"},
]


def _service(tmp_path: Path) -> QAService:
    return QAService(fake_settings(tmp_path / "index")).load()


def test_a_jsonl_export_is_ingested_row_by_row_and_resumes(tmp_path: Path) -> None:
    export = tmp_path / "archive.jsonl"
    lines = [json.dumps(row) for row in ROWS]
    lines[1:1] = ["", "{not json", json.dumps({"title": "no text"}), json.dumps({"text": "x y z", "date": "Sunday"})]
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    service = _service(tmp_path)
    try:
        report = service.ingest_paths([export], progress=False)
        glacier_id = next(d for d in report.added if d.startswith("doc-"))
        assert report.added == ["quake-voa", "coastalherald.example-bridge", glacier_id]
        assert sorted(report.errors) == [f"{export}:3", f"{export}:4", f"{export}:5"]
        assert "not a JSON object" in report.errors[f"{export}:3"]
        assert "no `text`" in report.errors[f"{export}:4"]
        assert "'Sunday' is not a date" in report.errors[f"{export}:5"]
        quake = service.get_document("quake-voa")
        assert (quake.title, quake.date, quake.source, quake.url) == (
            "Quake kills 128 in western Nepal",
            "2023-11-04",
            "Voice of America",
            "https://voa.example/nepal-quake",
        )
        assert service.get_document("coastalherald.example-bridge").date == "2025-09-14"
        again = service.ingest_paths([export], progress=False)  # nothing new: every row is skipped by its hash
        assert not again.added and sorted(again.unchanged) == sorted(report.added)
    finally:
        service.close()


def test_a_csv_export_with_quoted_multiline_text(tmp_path: Path) -> None:
    export = tmp_path / "archive.csv"
    with export.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["doc_id", "title", "date", "source", "url", "text", "extra"])
        writer.writeheader()
        for row in ROWS:
            writer.writerow({**row, "text": row["text"] + '\n\nA second, "quoted" paragraph.', "extra": "ignored"})
        writer.writerow({"doc_id": "bad/id", "text": "Some text here."})
    service = _service(tmp_path)
    try:
        report = service.ingest_paths([tmp_path], progress=False)
        assert len(report.added) == 3 and list(report.errors) == [f"{export}:11"]
        assert "invalid doc_id" in report.errors[f"{export}:11"]
        quake = service.get_document("quake-voa")
        assert quake.text.endswith('A second, "quoted" paragraph.') and quake.source == "Voice of America"
    finally:
        service.close()


def test_a_csv_without_a_text_column_is_one_error(tmp_path: Path) -> None:
    export = tmp_path / "wrong.csv"
    export.write_text("headline,body\nA,B\n", encoding="utf-8")
    service = _service(tmp_path)
    try:
        report = service.ingest_paths([export], progress=False)
        assert report.errors == {str(export): "no `text` column (the header has: headline, body)"}
    finally:
        service.close()
