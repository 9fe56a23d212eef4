"""Saved web pages: the article without navigation, ads and comments; its metadata kept; no article, no index."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa_service.ingest.clean import load_file
from qa_service.service import QAService
from tests.ingest.converters.pages import ARTICLE_PAGE, ARTICLE_WORDS, JSON_LD_PAGE, NO_ARTICLE_PAGE, PAGE_NOISE
from tests.store.conftest import fake_settings


def test_an_article_page_keeps_the_article_and_its_metadata(tmp_path: Path) -> None:
    path = tmp_path / "harbour bridge.html"
    path.write_text(ARTICLE_PAGE, encoding="utf-8")
    document = load_file(path)
    assert document.doc_id == "harbour-bridge"
    for words in ARTICLE_WORDS:
        assert words in " ".join(document.text.split()), words
    for noise in PAGE_NOISE:
        assert noise not in document.text, noise
    assert document.title == "Harbour bridge reopens after two years of repairs"
    assert (document.date, document.author) == ("2025-09-14", "Mara Lindqvist")
    assert document.source == "The Coastal Herald"
    assert document.url == "https://coastalherald.example/news/harbour-bridge-reopens"


def test_json_ld_metadata_gives_date_author_and_outlet(tmp_path: Path) -> None:
    path = tmp_path / "glacier.htm"
    path.write_bytes(JSON_LD_PAGE.encode("utf-8"))
    document = load_file(path)
    assert document.title == "Glacier retreat doubled in a decade, survey finds"
    assert (document.date, document.author, document.source) == ("2024-03-02", "Luca Brenner", "Alpine Wire")
    assert "41 metres" in document.text and "Newsletter" not in document.text and "Subscribe" not in document.text


def test_a_page_without_an_article_is_reported_by_name_and_not_indexed(tmp_path: Path) -> None:
    folder = tmp_path / "pages"
    folder.mkdir()
    (folder / "harbour.html").write_text(ARTICLE_PAGE, encoding="utf-8")
    (folder / "missing.html").write_text(NO_ARTICLE_PAGE, encoding="utf-8")
    service = QAService(fake_settings(tmp_path / "index")).load()
    try:
        report = service.ingest_paths([folder], progress=False)
        assert report.added == ["harbour"]
        assert list(report.errors) == [str(folder / "missing.html")]
        assert "no article text" in report.errors[str(folder / "missing.html")]
        assert [d.doc_id for d in service.list_documents()] == ["harbour"]
        passage = service.search("How many vehicles will the bridge carry?").passages[0]
        assert service.get_document("harbour").text[passage.start : passage.end] == passage.text
    finally:
        service.close()


STORY = " ".join(["The city council approved the new budget after a long debate about schools and roads."] * 4)


def _undated_page(top: str) -> str:
    """A page with no date in its metadata, only `top` printed by the headline."""
    return (
        "<html><head><title>Council passes budget | Daily Ledger</title></head><body>"
        '<nav><a href="/">Home</a> <a href="/w">World</a></nav><div class="cookie">We use cookies. Accept</div>'
        f"<article><h1>Council passes budget</h1>{top}<p>{STORY}</p><p>{STORY}</p></article>"
        "<aside><p>Most read: Published: Jan. 2, 2001</p></aside><footer>© 2024 Daily Ledger</footer></body></html>"
    )


@pytest.mark.parametrize(
    "top",
    [
        '<div class="byline">Published: Mar. 22, 2005</div>',  # dropped by the extractor as boilerplate
        '<p class="byline">By Ann Lee | Published: Mar. 22, 2005</p>',
        '<div class="meta"><span>Updated on</span> <span>22 March 2005</span></div>',
        "<p>WASHINGTON, March 22, 2005 — The council met late into the night before the vote.</p>",
    ],
)
def test_a_date_printed_only_in_the_page_by_its_headline(tmp_path: Path, top: str) -> None:
    path = tmp_path / "budget.html"
    path.write_text(_undated_page(top), encoding="utf-8")
    assert load_file(path).date == "2005-03-22"


def test_no_date_by_the_headline_is_no_date(tmp_path: Path) -> None:
    path = tmp_path / "budget.html"
    path.write_text(_undated_page(""), encoding="utf-8")
    assert load_file(path).date is None  # the sidebar's and the footer's dates are not the article's
