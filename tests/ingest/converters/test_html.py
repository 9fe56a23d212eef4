"""Saved web pages: the article without navigation, ads and comments; its metadata kept; no article, no index."""

from __future__ import annotations

from pathlib import Path

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
