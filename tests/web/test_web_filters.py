"""The chat page's filter row (dates, outlet picker from GET /sources) narrows the question, and every citation
shows its outlet and date; at desktop width and at 400 px."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.test_inputs_api import _batch
from tests.browser import needs_chromium, page_server, screenshot_folder

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Browser, expect

pytestmark = [pytest.mark.slow, needs_chromium]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("web-filters")
    (workdir / "no-seeds").mkdir()
    with page_server(workdir, QA_SEEDS_DIR=str(workdir / "no-seeds")) as url:
        assert httpx.post(f"{url}/documents/batch", json=_batch(), timeout=300).status_code == 200
        yield url


@pytest.mark.parametrize("width", [1280, 400])
def test_the_outlet_picker_narrows_the_answer_and_citations_show_the_outlet(
    server: str, browser: Browser, width: int, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(server)
    expect(page.locator('#filter-source option[value="Valley Wire"]')).to_have_text("Valley Wire (3)")
    page.select_option("#filter-source", "Valley Wire")
    page.fill("#filter-to", "2025-09-30")
    page.fill("#question", "How much did the repairs of the Kestrel Harbour bridge cost?")
    page.keyboard.press("Enter")
    meta = page.locator(".message.assistant .source-meta").first
    expect(meta).to_contain_text("Valley Wire")
    expect(meta).to_contain_text("wire-bridge")  # the Herald article that says "84 million" is filtered out
    assert page.locator(".message.assistant .doc-id", has_text="herald").count() == 0
    page.screenshot(path=str(screenshot_folder(tmp_path) / f"filters-{width}.png"))
    page.close()


def test_a_filter_that_removed_every_match_says_so_and_one_click_drops_it(server: str, browser: Browser) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server)
    expect(page.locator('#filter-source option[value="Harbour Herald"]')).to_have_count(1)
    page.select_option("#filter-source", "Harbour Herald")
    page.fill("#filter-from", "2025-12-01")  # the bridge story is from September
    page.fill("#question", "How much did the repairs of the Kestrel Harbour bridge cost?")
    page.keyboard.press("Enter")
    reply = page.locator(".message.assistant").last
    expect(reply.locator(".not-found")).to_contain_text(
        "Nothing within the filter (outlet Harbour Herald, from 2025-12-01);"
    )
    expect(reply.locator(".not-found")).to_contain_text("outside it match")
    reply.get_by_role("button", name="Ask again without the filter").click()
    expect(page.locator("#filter-source")).to_have_value("")
    expect(page.locator("#filter-from")).to_have_value("")
    answered = page.locator(".message.assistant").nth(1)
    expect(answered.locator(".answer")).to_contain_text("84 million euros")
    page.close()


def test_suggestions_come_from_the_articles_indexed_now(server: str, browser: Browser) -> None:
    titles = {item["doc_id"]: item["title"] for item in _batch()}
    newest = "herald-tram"  # 2025-11-20, then wire-library (11-03) and wire-glacier (10-05)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server)
    examples = page.locator(".example")
    expect(examples).to_have_count(3)
    expect(examples.first).to_have_text(f"What is “{titles[newest]}” about?")
    assert not any("Dorothy Shea" in text for text in examples.all_inner_texts())  # no seed questions
    try:
        assert httpx.delete(f"{server}/documents/{newest}", timeout=60).status_code == 204
        page.reload()
        expect(examples.first).to_have_text(f"What is “{titles['wire-library']}” about?")
        assert all(titles[newest] not in text for text in examples.all_inner_texts())
    finally:
        batch = [item for item in _batch() if item["doc_id"] == newest]
        assert httpx.post(f"{server}/documents/batch", json=batch, timeout=300).status_code == 200
    page.close()


def test_the_articles_view_shows_outlet_author_and_the_original_page(server: str, browser: Browser) -> None:
    article = {
        "doc_id": "ledger-budget",
        "title": "Council passes budget",
        "date": "2005-03-22",
        "source": "Daily Ledger",
        "author": "Ann Lee",
        "url": "https://ledger.example/2005/03/council-passes-budget.html",
        "text": "The city council approved the new budget after a long debate about schools and roads.",
    }
    assert httpx.post(f"{server}/documents", json=article, timeout=120).status_code in (201, 409)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{server}/#articles")
    row = page.locator("#articles-list > li", has_text="Council passes budget")
    expect(row).to_contain_text("Daily Ledger")
    row.get_by_role("button", name="Open Council passes budget (ledger-budget)").click()
    meta = page.get_by_role("dialog").locator("#panel-meta")
    expect(meta).to_contain_text("Daily Ledger")
    expect(meta).to_contain_text("by Ann Lee")
    expect(meta.get_by_role("link", name="original page")).to_have_attribute("href", article["url"])
    page.close()
