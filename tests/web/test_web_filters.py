"""The chat page's filter row (dates, outlet picker from GET /sources) narrows the question, and every citation
shows its outlet and date; at desktop width and at 400 px."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.test_inputs_api import _batch
from tests.browser import needs_chromium, page_server, screenshot_folder

playwright_sync = pytest.importorskip("playwright.sync_api")
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
    server: str, browser: playwright_sync.Browser, width: int, tmp_path: Path
) -> None:
    expect = playwright_sync.expect
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
