"""Dates in the forms news prints them become ISO YYYY-MM-DD; what is not a whole date is no date."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa_service.ingest.clean import load_file
from qa_service.ingest.converters.dates import parse_date


@pytest.mark.parametrize(
    ("written", "iso"),
    [
        ("Published: Sept. 14, 2025", "2025-09-14"),
        ("Published: September 14, 2025", "2025-09-14"),
        ("14 September 2025", "2025-09-14"),
        ("2025-09-20", "2025-09-20"),
        ("Updated on Monday, September 15, 2025, 3:45 PM EDT", "2025-09-15"),
        ("2025-09-14T23:30:00-05:00", "2025-09-14"),  # the day as written, not moved to another zone
        ("2025-09-14T23:30:00Z", "2025-09-14"),
        ("Posted: 3 Nov. 2023", "2023-11-03"),
    ],
)
def test_news_date_forms(written: str, iso: str) -> None:
    assert parse_date(written) == iso


@pytest.mark.parametrize(
    "not_a_date",
    ["Sunday", "September 2025", "2025", "2025-02-30", "The quake struck at 11:47 p.m. on Friday.", "", "12 people"],
)
def test_partial_or_impossible_dates_are_no_date(not_a_date: str) -> None:
    assert parse_date(not_a_date) is None


@pytest.mark.parametrize(
    "raw",
    [
        "Quake hits western Nepal\nPublished: Nov. 4, 2023\nAt least 128 people were killed.",
        "Quake hits western Nepal\n\n4 November 2023\n\nAt least 128 people were killed.",
        "2023-11-04\nQuake hits western Nepal\nAt least 128 people were killed.",
    ],
)
def test_a_date_line_near_the_top_is_the_date_and_leaves_the_text(tmp_path: Path, raw: str) -> None:
    path = tmp_path / "quake.txt"
    path.write_text(raw, encoding="utf-8")
    document = load_file(path)
    assert document.date == "2023-11-04"
    assert "2023" not in document.text and "Published" not in document.text
    assert document.text.endswith("At least 128 people were killed.")


def test_a_date_line_deep_in_the_text_stays_text(tmp_path: Path) -> None:
    path = tmp_path / "deep.txt"
    path.write_text(
        "Title line\n\nFirst paragraph.\n\nSecond paragraph.\n\n14 September 2025\n\nEnd.", encoding="utf-8"
    )
    document = load_file(path)
    assert document.date is None and "14 September 2025" in document.text
