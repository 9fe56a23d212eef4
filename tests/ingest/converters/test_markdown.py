"""Markdown reduced to its words: no `#`, `**`, `- ` or `[text](url)` left in titles, text and quotes."""

from __future__ import annotations

from pathlib import Path

from qa_service.ingest.clean import load_file
from qa_service.ingest.converters.markdown import to_text

PLANET = """# Tiny planet found around a red dwarf

*Published: Sept. 14, 2025*

Astronomers at the **Calar Alto** observatory found a planet
the size of Earth around a nearby star.

- It completes one orbit every **11.3 days**.
- Its star is [Gliese 12](https://example.org/gliese), 40 light years away.

![A drawing of the planet](planet.png)

> "It is the closest such world we know," said `Dr. Ana Ruiz`.
"""


def test_a_markdown_article_is_plain_text_with_title_and_date(tmp_path: Path) -> None:
    path = tmp_path / "planet.md"
    path.write_text(PLANET, encoding="utf-8")
    document = load_file(path)
    assert document.title == "Tiny planet found around a red dwarf"
    assert document.date == "2025-09-14"
    assert document.text.split("\n\n") == [
        "Tiny planet found around a red dwarf",
        "Astronomers at the Calar Alto observatory found a planet the size of Earth around a nearby star.",
        "It completes one orbit every 11.3 days.",
        "Its star is Gliese 12, 40 light years away.",
        "A drawing of the planet",
        '"It is the closest such world we know," said Dr. Ana Ruiz.',
    ]
    for markup in ("#", "**", "- ", "](", "![", "`", "> ", "*"):
        assert markup not in document.text, markup


def test_tables_and_code_keep_their_words() -> None:
    text = to_text("| city | toll |\n| --- | --- |\n| Quito | 77 |\n\n```\nline one\nline two\n```\n")
    assert text == "city; toll\n\nQuito; 77\n\nline one\n\nline two"


def test_a_markdown_byline_gives_date_outlet_and_author(tmp_path: Path) -> None:
    path = tmp_path / "budget.md"
    path.write_text(
        "# Council passes budget\n\n*Published: Feb. 16, 2005* · **Daily Ledger** · by Ann Lee\n\n"
        "The city council approved the new budget after a long debate about schools and roads.\n",
        encoding="utf-8",
    )
    document = load_file(path)
    assert (document.date, document.source, document.author) == ("2005-02-16", "Daily Ledger", "Ann Lee")
    assert "Published" not in document.text and "Daily Ledger" not in document.text  # the byline is not news
