"""The chat page's filter row (dates, outlet picker from GET /sources) narrows the question, and every citation
shows its outlet and date; at desktop width and at 400 px."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devtools.devserver import local_server

from .conftest import ROOT, server_env
from .test_inputs_api import _batch

playwright_sync = pytest.importorskip("playwright.sync_api")
CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("web-filters")
    (workdir / "no-seeds").mkdir()
    pythonpath = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = server_env(workdir / "index", QA_SEEDS_DIR=str(workdir / "no-seeds"), PYTHONPATH=pythonpath)
    with local_server(env, log_path=workdir / "server.log", cwd=workdir, timeout_s=180) as running:
        assert httpx.post(f"{running.url}/documents/batch", json=_batch(), timeout=300).status_code == 200
        yield running.url


@pytest.mark.parametrize("width", [1280, 400])
def test_the_outlet_picker_narrows_the_answer_and_citations_show_the_outlet(server: str, width: int) -> None:
    expect = playwright_sync.expect
    expect.set_options(timeout=60_000)
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox"])
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
        page.screenshot(path=str(ROOT / "docs" / "screenshots" / f"filters-{width}.png"))
        browser.close()
