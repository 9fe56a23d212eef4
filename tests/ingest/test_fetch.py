"""Fetching pages: only http(s), only public addresses (checked after DNS and on every redirect), only HTML, a
size cap. Refused addresses are never connected to: the checks come before any request."""

from __future__ import annotations

import pytest

from qa_service.errors import FetchFailedError, FetchRefusedError
from qa_service.ingest.fetch import FEED_TYPES, Fetcher
from tests.ingest.converters.pages import ARTICLE_PAGE
from tests.local_web import serve

LOOPBACK = ["127.0.0.1/32"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/",
        "http://10.0.0.1/news",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://192.168.1.20/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
    ],
)
def test_private_loopback_and_link_local_addresses_are_refused(url: str) -> None:
    with Fetcher() as fetcher, pytest.raises(FetchRefusedError, match="not a public address|link-local"):
        fetcher.fetch(url)


def test_a_name_is_checked_after_it_is_resolved() -> None:
    with Fetcher() as fetcher, pytest.raises(FetchRefusedError, match=r"localhost \((127\.0\.0\.1|::1)\)"):
        fetcher.fetch("http://localhost:9/page")
    resolves_inside = Fetcher(resolve=lambda host, port: ["93.184.215.14", "10.1.2.3"])  # one of them private
    with resolves_inside, pytest.raises(FetchRefusedError, match=r"10\.1\.2\.3"):
        resolves_inside.fetch("http://news.example/")


def test_only_http_and_https() -> None:
    with Fetcher() as fetcher:
        for url in ("file:///etc/passwd", "ftp://news.example/a", "gopher://x/", "javascript:alert(1)"):
            with pytest.raises(FetchRefusedError, match="only http and https"):
                fetcher.fetch(url)


def test_a_host_name_that_cannot_be_written_in_dns_is_refused_not_looked_up() -> None:
    """A name IDNA cannot encode (a control character) is the client's mistake (422), not an unreachable page."""
    with Fetcher() as fetcher, pytest.raises(FetchRefusedError, match="not a valid host name"):
        fetcher.check("http://o.\x94x.example/")
    with Fetcher() as fetcher, pytest.raises(FetchRefusedError, match="not a URL"):
        fetcher.check("HTTP://[")


def test_link_local_is_refused_even_when_private_addresses_are_allowed() -> None:
    with Fetcher(allow_private=True) as fetcher, pytest.raises(FetchRefusedError, match="link-local"):
        fetcher.fetch("http://169.254.169.254/latest/meta-data/")


def test_a_redirect_into_the_private_network_is_refused() -> None:
    routes = {
        "/article": (200, "text/html; charset=utf-8", ARTICLE_PAGE),
        "/moved": (301, "", "/article"),
        "/to-metadata": (302, "", "http://169.254.169.254/latest/meta-data/"),
        "/to-intranet": (307, "", "http://10.0.0.1/admin"),
    }
    with serve(routes) as site, Fetcher(allow_networks=LOOPBACK) as fetcher:
        fetched = fetcher.fetch(f"{site.url}/moved")
        assert fetched.url == f"{site.url}/article" and b"Kestrel Harbour" in fetched.content
        for path in ("/to-metadata", "/to-intranet"):
            with pytest.raises(FetchRefusedError, match="not a public address|link-local"):
                fetcher.fetch(site.url + path)
        assert site.hits == {"/moved": 1, "/article": 1, "/to-metadata": 1, "/to-intranet": 1}


def test_content_type_status_size_and_redirect_loops() -> None:
    routes = {
        "/data.json": (200, "application/json", "{}"),
        "/gone": (410, "text/html", "gone"),
        "/big": (200, "text/html", "x" * 5_000),
        "/loop": (302, "", "/loop"),
        "/feed": (200, "application/rss+xml", "<rss/>"),
    }
    with serve(routes) as site, Fetcher(allow_networks=LOOPBACK, max_bytes=4_000) as fetcher:
        with pytest.raises(FetchFailedError, match="application/json, not text/html"):
            fetcher.fetch(f"{site.url}/data.json")
        with pytest.raises(FetchFailedError, match="answered 410"):
            fetcher.fetch(f"{site.url}/gone")
        with pytest.raises(FetchFailedError, match="5,000 bytes, over the 4,000-byte limit"):
            fetcher.fetch(f"{site.url}/big")
        with pytest.raises(FetchFailedError, match="more than 5 redirects"):
            fetcher.fetch(f"{site.url}/loop")
        assert fetcher.fetch(f"{site.url}/feed", FEED_TYPES).content == b"<rss/>"
        with pytest.raises(FetchFailedError, match="cannot resolve|ConnectError"):
            Fetcher(allow_private=True).fetch("http://no-such-host.invalid/")
