"""Adding news without letting one caller hold the service: fetches in a pool of their own and a batch's URLs
side by side within a budget (issue 29), long articles refused before any model work, hostile batch bodies
answered 400, and collisions inside one batch reported by item number."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import anyio.to_thread
import pytest
from fastapi.testclient import TestClient

from devtools.bench import long_article
from qa_service.api import create_app
from qa_service.embedding import Embedder
from qa_service.service import QAService
from tests.conftest import SEEDS, make_settings
from tests.ingest.converters.pages import ARTICLE_PAGE
from tests.local_web import loopback, send

EMBEDDED_ONLY = pytest.mark.parametrize("store_kind", ["embedded"])  # the routes, not the stores, are under test


class HeldUpstream:
    """A loopback news site whose every page is held until `release` is set; it counts requests in flight."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.in_flight = 0
        self.most_in_flight = 0
        self.arrived = threading.Condition()
        self.url = ""

    def page(self, path: str) -> bytes:  # a different article and canonical URL (the id) per path: no duplicates
        page = ARTICLE_PAGE.replace("all 212 steel cables", f"the steel cables of span {path}")
        return page.replace(
            "/news/harbour-bridge-reopens", f"/news/harbour-bridge-reopens-{path.strip('/').replace('/', '-')}"
        ).encode()

    @contextlib.contextmanager
    def running(self) -> Iterator[HeldUpstream]:
        with loopback(self._respond) as url:
            self.url = url
            try:
                yield self
            finally:
                self.release.set()

    def _respond(self, handler: BaseHTTPRequestHandler) -> None:
        with self.arrived:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            self.arrived.notify_all()
        try:
            self.release.wait(60)
            send(handler, 200, "text/html; charset=utf-8", self.page(handler.path))
        finally:
            with self.arrived:
                self.in_flight -= 1

    def wait_for(self, count: int) -> None:
        with self.arrived:
            assert self.arrived.wait_for(lambda: self.in_flight >= count, timeout=120), self.in_flight


def _app(service: QAService, **settings: object) -> TestClient:
    return TestClient(create_app(service.settings.model_copy(update=settings), service))


async def _threads_borrowed() -> int:
    return int(anyio.to_thread.current_default_thread_limiter().borrowed_tokens)


@EMBEDDED_ONLY
def test_fetches_wait_in_a_pool_of_their_own_not_in_the_questions_threads(fresh_service: QAService) -> None:
    """Six pages held by their server, two fetches at a time: the others queue without holding any of the event
    loop's threads (which answer questions); when the server lets go, all six are added."""
    upstream = HeldUpstream()
    with (
        upstream.running(),
        _app(fresh_service, fetch_allow_private=True, fetch_concurrency=2) as api,
        ThreadPoolExecutor(max_workers=6) as callers,
    ):
        posts = [callers.submit(api.post, "/documents", json={"url": f"{upstream.url}/news/{n}"}) for n in range(6)]
        upstream.wait_for(2)
        time.sleep(1.0)  # room for more to arrive, if more were let through (nothing is timed)
        assert upstream.most_in_flight == 2
        assert api.portal is not None
        assert api.portal.call(_threads_borrowed) == 0  # no thread of the questions' pool is held
        assert api.get("/health").status_code == 200
        upstream.release.set()
        codes = [post.result().status_code for post in posts]
    assert codes == [201] * 6, [post.result().text for post in posts]
    assert len(fresh_service.list_documents()) == 6


@EMBEDDED_ONLY
def test_a_batchs_urls_are_fetched_side_by_side_within_its_budget(fresh_service: QAService) -> None:
    """Four held pages, two fetched at a time, a 1 s budget for the batch: the pages are errors of their items
    (naming QA_FETCH_BATCH_S), the text item is added, and the answer does not wait for the held pages."""
    upstream = HeldUpstream()
    with upstream.running():
        items = [{"url": f"{upstream.url}/news/{n}"} for n in range(4)]
        items.insert(2, {"text": SEEDS.joinpath("000_f6e0c52e4f6527ee.txt").read_text(), "doc_id": "shea"})
        with _app(fresh_service, fetch_allow_private=True, fetch_concurrency=2, fetch_batch_s=1.0) as api:
            report = api.post("/documents/batch", json=items)
        most = upstream.most_in_flight
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["added"] == ["shea"]
    assert sorted(body["errors"]) == ["0", "1", "3", "4"]
    assert all("not fetched within the batch's 1 s (QA_FETCH_BATCH_S)" in e for e in body["errors"].values())
    assert most == 2  # side by side, and no more than QA_FETCH_CONCURRENCY


@EMBEDDED_ONLY
def test_a_batchs_pages_are_added_when_they_come_in_time(fresh_service: QAService) -> None:
    upstream = HeldUpstream()
    upstream.release.set()
    with upstream.running(), _app(fresh_service, fetch_allow_private=True, fetch_concurrency=2) as api:
        report = api.post("/documents/batch", json=[{"url": f"{upstream.url}/news/{n}"} for n in range(3)])
    assert report.status_code == 200, report.text
    # ids from each page's canonical URL, not the address it was fetched from
    assert sorted(report.json()["added"]) == [
        f"coastalherald.example-harbour-bridge-reopens-news-{n}" for n in range(3)
    ]


# ---- QA_MAX_DOCUMENT_CHARS -----------------------------------------------------------------------------------


@pytest.fixture
def limited_service(tmp_path: Path, embedder: Embedder) -> Iterator[QAService]:
    """An empty index whose articles may be at most 5,000 characters long after cleaning."""
    service = QAService(make_settings(tmp_path / "index", max_document_chars=5_000), embedder=embedder).load()
    yield service
    service.close()


def test_an_article_over_the_character_limit_is_refused_at_once_with_413(limited_service: QAService) -> None:
    """Refused on its length after cleaning, before the CPU budget is spent on it: the answer names the limit."""
    with _app(limited_service) as api:
        refused = api.post("/documents", json={"text": long_article(SEEDS, 6_000), "doc_id": "long"})
        assert refused.status_code == 413, refused.text
        assert "characters after cleaning, over QA_MAX_DOCUMENT_CHARS=5,000" in refused.json()["detail"]
        batch = api.post(
            "/documents/batch", json=[{"text": long_article(SEEDS, 6_000)}, {"text": long_article(SEEDS, 3_000)}]
        )
    assert "QA_MAX_DOCUMENT_CHARS=5,000" in batch.json()["errors"]["0"]
    assert len(batch.json()["added"]) == 1
    assert [d.doc_id for d in limited_service.list_documents()] == batch.json()["added"]


def test_ingest_names_each_file_over_the_character_limit_and_goes_on(
    limited_service: QAService, tmp_path: Path
) -> None:
    """What `qa-service ingest` prints: the file refused by name with the limit, the others added."""
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "long.txt").write_text(long_article(SEEDS, 6_000), encoding="utf-8")
    (folder / "short.txt").write_text(long_article(SEEDS, 1_000), encoding="utf-8")
    report = limited_service.ingest_paths([folder], progress=False)
    assert report.added == ["short"]
    assert list(report.errors) == [str(folder / "long.txt")]
    assert "QA_MAX_DOCUMENT_CHARS=5,000" in report.errors[str(folder / "long.txt")]


# ---- hostile batch bodies, collisions inside a batch -----------------------------------------------------------


@EMBEDDED_ONLY
def test_deeply_nested_json_in_a_batch_is_a_400_not_a_500(fresh_service: QAService) -> None:
    with _app(fresh_service) as api:
        nested = api.post(
            "/documents/batch", content=b"[" * 100_000 + b"]" * 100_000, headers={"content-type": "application/json"}
        )
        line = api.post("/documents/batch", content=b"[" * 50_000, headers={"content-type": "application/x-ndjson"})
    for response in (nested, line):
        assert response.status_code == 400, response.text
        assert "nested too deeply" in response.json()["detail"]


@EMBEDDED_ONLY
def test_collisions_inside_one_batch_are_reported_by_item_number(fresh_service: QAService) -> None:
    first, second = ((SEEDS / name).read_text() for name in ("000_f6e0c52e4f6527ee.txt", "001_3bcbd3b699cef101.txt"))
    with _app(fresh_service) as api:
        same_id = api.post("/documents/batch", json=[{"text": first, "doc_id": "x"}, {"text": second, "doc_id": "x"}])
        same_text = api.post("/documents/batch", json=[{"text": second}, {"text": second}])
        third = (SEEDS / "002_53326ce677bec9a4.txt").read_text()
        two_ids = api.post("/documents/batch", json=[{"text": third, "doc_id": "a"}, {"text": third, "doc_id": "b"}])
    assert same_id.json()["added"] == ["x"]
    assert same_id.json()["errors"] == {"1": "doc_id 'x' is item 0's too; give one of the two another doc_id"}
    added = same_text.json()["added"]
    assert len(added) == 1
    assert same_text.json()["errors"] == {"1": "a duplicate of item 0 (the same text); not added again"}
    assert (two_ids.json()["added"], two_ids.json()["duplicates"]) == (["a"], {"b": "a"})  # as across batches
