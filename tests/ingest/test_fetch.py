"""Fetching pages: only http(s), only public addresses (checked after DNS and on every redirect), only HTML, a
size cap. Refused addresses are never connected to: the checks come before any request."""

from __future__ import annotations

import contextlib
import gzip
import logging
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from qa_service.errors import FetchFailedError, FetchRefusedError
from qa_service.ingest.fetch import FEED_TYPES, Fetcher
from tests.ingest.converters.pages import ARTICLE_PAGE
from tests.local_web import Respond, loopback, send, serve

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


def test_a_name_is_checked_after_it_is_resolved_and_the_address_stays_in_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The refusal names the host, not what it resolved to (a stranger would learn the network); the log has it."""
    with Fetcher() as fetcher, pytest.raises(FetchRefusedError, match="localhost is not a public address"):
        fetcher.fetch("http://localhost:9/page")
    resolves_inside = Fetcher(resolve=lambda host, port: ["93.184.215.14", "10.1.2.3"])  # one of them private
    with (
        caplog.at_level(logging.WARNING, logger="qa_service.ingest.fetch"),
        resolves_inside,
        pytest.raises(FetchRefusedError, match="news.example is not a public address") as refused,
    ):
        resolves_inside.fetch("http://news.example/")
    assert "10.1.2.3" not in str(refused.value)
    assert "news.example resolves to 10.1.2.3" in caplog.text


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
    routes: dict[str, tuple[int, str, bytes | str]] = {
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
    routes: dict[str, tuple[int, str, bytes | str]] = {
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


# ---- IPv4 inside IPv6, cloud metadata (a fake resolver: no name is looked up) ---------------------------


@pytest.mark.parametrize(
    "address",
    [
        "::127.0.0.1",  # IPv4-compatible
        "::ffff:127.0.0.1",  # IPv4-mapped
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "2002:c0a8:0101::1",  # 6to4 of 192.168.1.1
        "64:ff9b:1::a00:1",  # a network's own NAT64 prefix
    ],
)
def test_an_ipv4_address_inside_an_ipv6_one_is_judged_as_the_ipv4_one(address: str) -> None:
    with Fetcher() as fetcher, pytest.raises(FetchRefusedError, match="not a public address|link-local|metadata"):
        fetcher.check(f"http://[{address}]/")
    by_name = Fetcher(resolve=lambda host, port: [address])
    with by_name, pytest.raises(FetchRefusedError, match="news.example is") as refused:
        by_name.check("http://news.example/")
    assert address not in str(refused.value)


@pytest.mark.parametrize("address", ["64:ff9b::808:808", "2002:808:808::1", "::ffff:8.8.8.8", "2606:4700::1111"])
def test_an_ipv6_address_leading_to_a_public_ipv4_one_is_public(address: str) -> None:
    with Fetcher(resolve=lambda host, port: [address]) as fetcher:
        fetcher.check("http://news.example/")  # no error


@pytest.mark.parametrize(
    "address", ["169.254.169.254", "fd00:ec2::254", "100.100.100.200", "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe"]
)
def test_cloud_metadata_is_refused_even_when_private_addresses_are_allowed(address: str) -> None:
    allowed = Fetcher(allow_private=True, allow_networks=["::/0", "0.0.0.0/0"], resolve=lambda host, port: [address])
    with allowed, pytest.raises(FetchRefusedError, match="metadata|link-local"):
        allowed.check("http://metadata.example/latest/meta-data/")
    with allowed, pytest.raises(FetchRefusedError, match="metadata|link-local"):
        allowed.check(f"http://[{address}]/" if ":" in address else f"http://{address}/")


def test_private_addresses_are_fetched_when_allowed() -> None:
    with Fetcher(allow_private=True, resolve=lambda host, port: ["10.1.2.3", "fd12::1"]) as fetcher:
        fetcher.check("http://intranet.example/")  # no error: only metadata and link-local stay refused


# ---- hostile upstreams on 127.0.0.1: bombs, drips, errors --------------------------------------------------


def _send(body: bytes, encoding: str | None = None, content_type: str = "text/html") -> Respond:
    def respond(handler: BaseHTTPRequestHandler) -> None:
        send(handler, 200, content_type, body, {"Content-Encoding": encoding} if encoding is not None else None)

    return respond


def _gzip_of_spaces(size: int) -> bytes:
    """gzip of `size` spaces, made a megabyte at a time (about a thousandth of the size)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b" " * 1_000_000
    parts = [compressor.compress(block) for _ in range(size // len(block))]
    return b"".join([*parts, compressor.flush()])


def test_gzip_and_deflate_pages_are_inflated() -> None:
    page = ARTICLE_PAGE.encode()
    raw_deflate = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    for encoding, body in [
        ("gzip", gzip.compress(page)),
        ("deflate", zlib.compress(page)),
        ("deflate", raw_deflate.compress(page) + raw_deflate.flush()),
        ("gzip", gzip.compress(page[:100]) + gzip.compress(page[100:])),  # two members
        ("identity", page),
    ]:
        with loopback(_send(body, encoding)) as url, Fetcher(allow_networks=LOOPBACK) as fetcher:
            assert fetcher.fetch(url).content == page, encoding


def test_a_gzip_bomb_is_refused_at_the_cap_without_inflating_it_all() -> None:
    """50 MB of spaces in 50 KB of gzip, a 1 MB cap: httpx inflated a whole network read (all of it) first."""
    bomb = _gzip_of_spaces(50_000_000)
    assert len(bomb) < 100_000
    with loopback(_send(bomb, "gzip")) as url, Fetcher(allow_networks=LOOPBACK, max_bytes=1_000_000) as fetcher:
        tracemalloc.start()
        try:
            with pytest.raises(FetchFailedError, match="over the 1,000,000-byte limit"):
                fetcher.fetch(url)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 8_000_000, f"{peak:,} bytes held while refusing a 1 MB-capped body"


@pytest.mark.parametrize("encoding", ["gzip, gzip", "gzip,deflate", "zstd", "br", "compress"])
def test_stacked_and_unknown_encodings_are_refused(encoding: str) -> None:
    body = gzip.compress(gzip.compress(b"<html><body>" + b" " * 100_000 + b"</body></html>"))
    with (
        loopback(_send(body, encoding)) as url,
        Fetcher(allow_networks=LOOPBACK) as fetcher,
        pytest.raises(FetchFailedError, match="stacked content encodings|is not accepted"),
    ):
        fetcher.fetch(url)


def test_only_gzip_and_deflate_are_asked_for() -> None:
    seen: list[str | None] = []

    def respond(handler: BaseHTTPRequestHandler) -> None:
        seen.append(handler.headers.get("Accept-Encoding"))
        _send(b"<html></html>")(handler)

    with loopback(respond) as url, Fetcher(allow_networks=LOOPBACK) as fetcher:
        fetcher.fetch(url)
    assert seen == ["gzip, deflate"]


def test_a_damaged_gzip_body_is_a_failed_fetch() -> None:
    with (
        loopback(_send(b"\x1f\x8b\x08\x00 this is not gzip", "gzip")) as url,
        Fetcher(allow_networks=LOOPBACK) as fetcher,
        pytest.raises(FetchFailedError, match="gzip body is damaged"),
    ):
        fetcher.fetch(url)


def _drip(size: int, every_s: float) -> Respond:
    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Content-Length", str(size))
        handler.end_headers()
        for _ in range(size):
            handler.wfile.write(b" ")
            handler.wfile.flush()
            time.sleep(every_s)

    return respond


def test_the_timeout_bounds_the_whole_fetch_not_each_read() -> None:
    """40 bytes, one every 0.1 s: each read is quick, the whole is 4 s; with a 1 s timeout it is given up.

    No time is asserted: the old per-read timeout fetched the whole body, so the refusal is the proof."""
    with (
        loopback(_drip(40, 0.1)) as url,
        Fetcher(allow_networks=LOOPBACK, timeout_s=1.0) as fetcher,
        pytest.raises(FetchFailedError, match=r"not fetched within 1 s \(QA_FETCH_TIMEOUT_S\)"),
    ):
        fetcher.fetch(url)


def test_a_connection_error_says_what_failed_not_the_details() -> None:
    with (
        socket_nobody_listens_on() as port,
        Fetcher(allow_networks=LOOPBACK) as fetcher,
        pytest.raises(FetchFailedError) as failed,
    ):
        fetcher.fetch(f"http://127.0.0.1:{port}/")
    assert str(failed.value) == f"http://127.0.0.1:{port}/: could not be fetched (ConnectError)"


@contextlib.contextmanager
def socket_nobody_listens_on() -> Iterator[int]:
    """A port bound (so nothing else takes it) but not listening: a connection to it is refused."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]
