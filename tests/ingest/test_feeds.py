"""Following a feed: each entry's page is fetched and ingested; run again, entries already indexed are not even
fetched, so running `ingest --feed` every hour adds only what is new."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from qa_service.ingest.feeds import parse_feed, read_feed
from qa_service.ingest.fetch import Fetcher
from qa_service.ingest.sources import feed_items, url_items
from qa_service.service import QAService
from tests.ingest.converters.pages import ARTICLE_PAGE, page_for
from tests.local_web import serve
from tests.store.conftest import fake_settings

STORIES = [
    ("Harbour bridge reopens", "The Kestrel Harbour bridge reopened on Sunday after repairs costing 84 million euros."),
    ("Glacier loses ice", "The Morteratsch glacier lost 3.1 square kilometres of ice in ten years, a survey found."),
    ("Tram line approved", "The council approved a 12 km tram line that will link the port with the university."),
    ("Ferry prices rise", "Ferry tickets to the islands will cost 15 percent more from March, the operator said."),
    ("Library opens", "The new city library opened with 240,000 books and a rooftop reading garden on Friday."),
]


def _words(sentence: str) -> list[str]:
    return [sentence, "Officials said the work had gone to plan and thanked residents for their patience."]


def _feed(base: str, items: list[tuple[str, str]]) -> str:
    entries = "".join(
        f"<item><title>{title}</title><link>{base}/news/{n}</link>"
        f"<pubDate>Sun, {14 + n:02d} Sep 2025 00:30:00 +0200</pubDate></item>"
        for n, (title, _) in enumerate(items)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Coastal Herald</title>{entries}</channel></rss>'


def _routes(base: str, count: int) -> dict[str, tuple[int, str, bytes | str]]:
    routes: dict[str, tuple[int, str, bytes | str]] = {
        "/feed.xml": (200, "application/rss+xml", _feed(base, STORIES[:count]))
    }
    for n, (title, sentence) in enumerate(STORIES[:count]):
        routes[f"/news/{n}"] = (200, "text/html", page_for(title, _words(sentence), outlet="", date=""))
    return routes


def test_a_feed_of_five_entries_then_a_second_run_adds_nothing(tmp_path: Path) -> None:
    service = QAService(fake_settings(tmp_path / "index")).load()
    try:
        with serve({}) as site, Fetcher(allow_networks=["127.0.0.1/32"]) as fetcher:
            site.routes.update(_routes(site.url, 5))
            first = service.write(feed_items([f"{site.url}/feed.xml"], fetcher, service.indexed))
            assert len(first.added) == 5 and not first.errors, first
            document = service.get_document(first.added[0])
            assert document.title == "Harbour bridge reopens"
            assert document.date == "2025-09-14"  # the entry's date as written (+0200), not moved to UTC
            assert document.source == "Coastal Herald"  # the page names no site: the feed's title
            assert document.url == f"{site.url}/news/0" and "84 million euros" in document.text
            assert site.hits["/news/0"] == 1
            second = service.write(feed_items([f"{site.url}/feed.xml"], fetcher, service.indexed))
            assert not second.added and sorted(second.unchanged) == sorted(first.added)
            assert all(site.hits[f"/news/{n}"] == 1 for n in range(5)), "known entries are not fetched again"
            assert service.stats()["documents"] == 5
    finally:
        service.close()


def test_a_page_already_indexed_under_its_url_is_a_duplicate_or_unchanged(tmp_path: Path) -> None:
    service = QAService(fake_settings(tmp_path / "index")).load()
    try:
        with serve({}) as site, Fetcher(allow_networks=["127.0.0.1/32"]) as fetcher:
            site.routes.update(_routes(site.url, 2))
            site.routes["/copy"] = site.routes["/news/1"]  # the same story at a second address
            report = service.write(url_items([f"{site.url}/news/1", f"{site.url}/copy"], fetcher))
            assert len(report.added) == 1 and list(report.duplicates.values()) == report.added
            feed = service.write(feed_items([f"{site.url}/feed.xml"], fetcher, service.indexed))
            assert len(feed.added) == 1 and feed.unchanged == report.added  # /news/1 was indexed by its URL
            broken = service.write(url_items([f"{site.url}/missing"], fetcher))
            assert (
                list(broken.errors) == [f"{site.url}/missing"]
                and "answered 404" in broken.errors[f"{site.url}/missing"]
            )
    finally:
        service.close()


def test_atom_feeds_and_feed_files(tmp_path: Path) -> None:
    atom = (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Alpine Wire</title>'
        '<entry><title>Glacier</title><link href="/2024/glacier"/><updated>2024-03-02T23:30:00-05:00</updated>'
        "<author><name>Luca Brenner</name></author></entry><entry><title>No link</title></entry></feed>"
    )
    feed = parse_feed(atom.encode(), base_url="https://alpinewire.example/feed")
    assert feed.title == "Alpine Wire" and feed.skipped == 1
    (entry,) = feed.entries
    assert (entry.url, entry.date, entry.author) == (
        "https://alpinewire.example/2024/glacier",
        "2024-03-02",
        "Luca Brenner",
    )
    path = tmp_path / "feed.xml"
    path.write_text("<html><body>not a feed</body></html>", encoding="utf-8")
    service = QAService(fake_settings(tmp_path / "index")).load()
    try:
        with Fetcher() as fetcher:
            report = service.write(feed_items([str(path)], fetcher, service.indexed))
        assert list(report.errors) == [str(path)] and "not an RSS, Atom or JSON feed" in report.errors[str(path)]
    finally:
        service.close()


def _rdf(base: str) -> str:
    return (
        '<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
        ' xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        "<channel><title>Coastal Herald</title></channel>"
        f"<item><title>{STORIES[0][0]}</title><link>{base}/news/0</link><dc:date>2025-09-14</dc:date></item>"
        "</rdf:RDF>"
    )


def _json_feed(base: str) -> str:
    item = {"id": "1", "url": f"{base}/news/0", "title": STORIES[0][0], "date_published": "2025-09-14T00:30:00+02:00"}
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "Coastal Herald", "items": [item]})


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-rss+xml", lambda base: _feed(base, STORIES[:1])),  # python3 -m http.server's .rss
        ("application/rss+xml", lambda base: _feed(base, STORIES[:1])),
        ("application/rdf+xml", _rdf),
        ("text/xml", lambda base: _feed(base, STORIES[:1])),
        ("application/xml", lambda base: _feed(base, STORIES[:1])),
        ("text/plain; charset=utf-8", lambda base: _feed(base, STORIES[:1])),  # generic: decided by the content
        ("application/octet-stream", lambda base: _feed(base, STORIES[:1])),
        ("application/feed+json", _json_feed),
        ("application/json", _json_feed),
    ],
)
def test_a_feed_is_read_whatever_type_it_is_served_with(content_type: str, body: Callable[[str], str]) -> None:
    with serve({}) as site, Fetcher(allow_networks=["127.0.0.1/32"]) as fetcher:
        site.routes["/feed"] = (200, content_type, body(site.url))
        feed = read_feed(f"{site.url}/feed", fetcher)
    assert feed.title == "Coastal Herald"
    assert [(e.url, e.title, e.date) for e in feed.entries] == [(f"{site.url}/news/0", STORIES[0][0], "2025-09-14")]


def test_a_feed_served_as_x_rss_is_ingested_and_a_page_under_a_generic_type_is_refused(tmp_path: Path) -> None:
    service = QAService(fake_settings(tmp_path / "index")).load()
    try:
        with serve({}) as site, Fetcher(allow_networks=["127.0.0.1/32"]) as fetcher:
            site.routes.update(_routes(site.url, 2))
            site.routes["/feed.rss"] = (200, "application/x-rss+xml", site.routes["/feed.xml"][2])
            site.routes["/page.txt"] = (200, "text/plain", "Just words, no feed here.")
            site.routes["/data.json"] = (200, "application/json", '{"items": []}')
            report = service.write(feed_items([f"{site.url}/feed.rss"], fetcher, service.indexed))
            assert len(report.added) == 2 and not report.errors, report
            bad = [f"{site.url}/page.txt", f"{site.url}/data.json"]
            refused = service.write(feed_items(bad, fetcher, service.indexed))
        assert sorted(refused.errors) == sorted(bad)
        assert all("not an RSS, Atom or JSON feed" in reason for reason in refused.errors.values()), refused.errors
    finally:
        service.close()


def test_a_fetched_page_is_named_by_its_canonical_url_not_the_fetch_address(tmp_path: Path) -> None:
    service = QAService(fake_settings(tmp_path / "index")).load()
    try:
        with serve({}) as site, Fetcher(allow_networks=["127.0.0.1/32"]) as fetcher:
            site.routes["/site/2025/09/bridge-story.html"] = (200, "text/html", ARTICLE_PAGE)
            site.routes["/site/2025/09/glacier.html"] = (
                200,
                "text/html",
                page_for(*STORIES[1][:1], _words(STORIES[1][1]), outlet="", date=""),
            )
            urls = [f"{site.url}/site/2025/09/bridge-story.html", f"{site.url}/site/2025/09/glacier.html"]
            report = service.write(url_items(urls, fetcher))
        # <link rel="canonical" href="https://coastalherald.example/news/harbour-bridge-reopens">; none: the address
        assert report.added == ["coastalherald.example-harbour-bridge-reopens", "127.0.0.1-glacier"], report
        assert service.get_document(report.added[0]).url == "https://coastalherald.example/news/harbour-bridge-reopens"
    finally:
        service.close()
