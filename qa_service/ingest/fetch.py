"""Fetching a page or a feed for ingest without becoming a way into the private network (SSRF).

Every hop (the URL and each redirect) is checked the same way: http or https only; the host name is resolved
once and every address it resolves to must be public (not loopback, private, shared, reserved or multicast)
unless QA_FETCH_ALLOW_PRIVATE=true, and never link-local or a cloud metadata address (169.254.169.254,
fd00:ec2::254: where an SSRF steals credentials; no news is served there). An IPv6 address with an IPv4 address
inside (mapped ::ffff:a.b.c.d, IPv4-compatible ::a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16) is judged by the
IPv4 address it leads to. The connection then goes to the address that was checked (the Host header and TLS name
stay the host's), so a DNS answer that changes between the check and the connection (rebinding) gains nothing.
A refusal names the host, never the address it resolved to (that goes to the log: callers may be strangers).

Redirects are followed by hand (at most five); the whole fetch, every hop and every byte, has one deadline
(QA_FETCH_TIMEOUT_S), so an upstream dripping a byte a second cannot hold it longer. The body is read raw and
inflated here, a bounded step at a time, with the inflated bytes counted against the size cap: a few kilobytes
of gzip must not become gigabytes in memory before the cap is checked. Only gzip and deflate are accepted, once
(stacked or other encodings are refused), and only the expected content types.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import time
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from qa_service.config import Settings
from qa_service.errors import FetchFailedError, FetchRefusedError, QAServiceError

HTML_TYPES = ("text/html", "application/xhtml+xml")
# Feeds come under many types in practice (Python's http.server serves .rss as application/x-rss+xml); the generic
# ones (XML, JSON, text, bytes, even HTML) are taken too, and `feeds.parse_feed` decides by the content.
FEED_TYPES = (
    *("application/rss+xml", "application/x-rss+xml", "application/atom+xml", "application/x-atom+xml"),
    *("application/rdf+xml", "application/feed+json", "application/xml", "text/xml", "application/json"),
    *("text/plain", "application/octet-stream", "text/html"),
)
MAX_REDIRECTS = 5
USER_AGENT = "qa-service/0.1 (news question answering; fetches pages it is given)"
_PRIVATE_HINT = "set QA_FETCH_ALLOW_PRIVATE=true to fetch from your own network"
ACCEPT_ENCODING = "gzip, deflate"  # what _Inflater reads; anything else is refused
# Cloud instance metadata (AWS, GCP, Azure, OCI; AWS over IPv6 and ECS tasks; Alibaba): never fetched.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the last 32 bits are the IPv4 address
_LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: a network's own translator, never public
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated ::a.b.c.d, still routed to a.b.c.d by some stacks

logger = logging.getLogger(__name__)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    content: bytes
    content_type: str


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for `host` (IPv4 and IPv6)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchFailedError(f"cannot resolve {host!r}: {exc}") from exc
    return [str(info[4][0]) for info in infos]


def embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address leads to (mapped, IPv4-compatible, NAT64, 6to4), or None."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or address in _IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: Address) -> bool:
    """Whether an address is out on the internet; an IPv6 address with an IPv4 one inside counts as that one."""
    if address in _LOCAL_NAT64 or address.is_multicast:
        return False
    inner = embedded_ipv4(address) or address
    return inner.is_global and not inner.is_multicast


def is_link_local(address: Address) -> bool:
    return (embedded_ipv4(address) or address).is_link_local


def is_metadata(address: Address) -> bool:
    """A cloud metadata address, directly or inside an IPv6 one: refused whatever QA_FETCH_ALLOW_PRIVATE says."""
    return address in METADATA_ADDRESSES or embedded_ipv4(address) in METADATA_ADDRESSES


class Fetcher:
    """Safe GETs of pages and feeds; one per ingest or request (cheap: one httpx client)."""

    def __init__(
        self,
        *,
        allow_private: bool = False,
        allow_networks: Sequence[str] = (),
        timeout_s: float = 15.0,
        max_bytes: int = 5_000_000,
        resolve: Resolver = system_resolver,
    ) -> None:
        self.allow_private = allow_private
        self.allow_networks = [ipaddress.ip_network(n) for n in allow_networks]  # e.g. one intranet news server
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s  # the whole fetch: every hop, every byte
        self.resolve = resolve
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=False,  # each hop is checked here
            trust_env=False,  # a proxy from the environment would resolve (and reach) what was refused here
            headers={"user-agent": USER_AGENT, "accept-encoding": ACCEPT_ENCODING},
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def fetch(self, url: str, accept: Sequence[str] = HTML_TYPES) -> Fetched:
        """The body at `url`, following checked redirects; raises FetchRefusedError or FetchFailedError."""
        current = url
        deadline = time.monotonic() + self.timeout_s
        for _ in range(MAX_REDIRECTS + 1):
            address, parts = self._checked(current)
            response = self._get(current, address, parts, accept, deadline)
            if isinstance(response, Fetched):
                return response
            current = response  # a redirect: the next hop is checked like the first
        raise FetchFailedError(f"{url}: more than {MAX_REDIRECTS} redirects")

    def check(self, url: str) -> None:
        """Raise FetchRefusedError if `url` may not be fetched (scheme or address), without fetching it."""
        self._checked(url)

    # ---- one hop ---------------------------------------------------------------------------------------------

    def _checked(self, url: str) -> tuple[Address, tuple[str, str, int]]:
        try:
            parts = urlsplit(url)
        except ValueError as exc:  # "http://[": an unclosed IPv6 bracket
            raise FetchRefusedError(f"{url}: not a URL ({exc})") from None
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise FetchRefusedError(f"{url}: only http and https URLs are fetched")
        host = parts.hostname
        if not host:
            raise FetchRefusedError(f"{url}: no host name")
        try:
            host.encode("idna")
        except UnicodeError as exc:
            raise FetchRefusedError(f"{url}: {host!r} is not a valid host name ({exc})") from None
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError as exc:
            raise FetchRefusedError(f"{url}: {exc}") from exc
        try:
            addresses = [ipaddress.ip_address(host)]
        except ValueError:
            addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in self.resolve(host, port)]
        if not addresses:
            raise FetchFailedError(f"cannot resolve {host!r}")
        for address in addresses:  # all of them: a client may try any
            if not self._allowed(address):
                if str(address) != host:  # the caller gave a name: what it resolves to stays in the log
                    logger.warning("fetch refused: %s resolves to %s", host, address)
                if is_link_local(address):
                    raise FetchRefusedError(f"{url}: refused, {host} is a link-local address (never fetched)")
                if is_metadata(address):
                    raise FetchRefusedError(f"{url}: refused, {host} is a cloud metadata address (never fetched)")
                raise FetchRefusedError(f"{url}: refused, {host} is not a public address; {_PRIVATE_HINT}")
        return addresses[0], (scheme, host, port)

    def _allowed(self, address: Address) -> bool:
        if is_link_local(address) or is_metadata(address):
            return False
        return self.allow_private or is_public(address) or any(address in n for n in self.allow_networks)

    def _get(
        self, url: str, address: Address, target: tuple[str, str, int], accept: Sequence[str], deadline: float
    ) -> Fetched | str:
        """The response (Fetched), or the next URL of a redirect (str)."""
        scheme, host, port = target
        parts = urlsplit(url)
        literal = f"[{address}]" if address.version == 6 else str(address)
        pinned = urlunsplit((scheme, f"{literal}:{port}", parts.path or "/", parts.query, ""))
        default_port = port == (443 if scheme == "https" else 80)
        headers = {"host": host if default_port else f"{host}:{port}", "accept": ", ".join(accept)}
        extensions = {"sni_hostname": host} if scheme == "https" else {}
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchFailedError(self._too_slow(url))
        timeout = httpx.Timeout(remaining)  # what is left of the fetch's deadline, for connecting and each read
        request = self._client.build_request("GET", pinned, headers=headers, extensions=extensions, timeout=timeout)
        try:
            with contextlib.closing(self._client.send(request, stream=True)) as response:
                if response.is_redirect:
                    location: str | None = response.headers.get("location")
                    if not location:
                        raise FetchFailedError(f"{url}: a redirect without a Location")
                    return urljoin(url, location)
                if response.status_code != 200:
                    raise FetchFailedError(f"{url}: the server answered {response.status_code}")
                content_type = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
                if content_type not in accept:
                    raise FetchFailedError(f"{url}: {content_type or 'no content type'}, not {' or '.join(accept)}")
                return Fetched(url=url, content=self._read(url, response, deadline), content_type=content_type)
        except httpx.TimeoutException:
            raise FetchFailedError(self._too_slow(url)) from None
        except httpx.HTTPError as exc:  # the detail may name addresses inside: the log has it, the caller does not
            logger.warning("fetch failed: %s via %s: %s %s", url, address, type(exc).__name__, exc)
            raise FetchFailedError(f"{url}: could not be fetched ({type(exc).__name__})") from None

    def _too_slow(self, url: str) -> str:
        return f"{url}: not fetched within {self.timeout_s:g} s (QA_FETCH_TIMEOUT_S)"

    def _read(self, url: str, response: httpx.Response, deadline: float) -> bytes:
        """The body, inflated here a bounded step at a time (never by httpx, which inflates a read in full)."""
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchFailedError(f"{url}: {int(declared):,} bytes, over the {self.max_bytes:,}-byte limit")
        inflater = _Inflater.for_response(url, response)
        body = bytearray()
        received = 0
        for piece in response.iter_raw():
            received += len(piece)
            if received > self.max_bytes:
                raise FetchFailedError(f"{url}: over the {self.max_bytes:,}-byte limit")
            if inflater is None:
                body.extend(piece)
            else:
                inflater.feed(piece, body, self.max_bytes)
            if len(body) > self.max_bytes:
                raise FetchFailedError(f"{url}: over the {self.max_bytes:,}-byte limit (inflated)")
            if time.monotonic() > deadline:
                raise FetchFailedError(self._too_slow(url))
        return bytes(body)


class _Inflater:
    """gzip or deflate, inflated at most `limit + 1` bytes past what is held, so a bomb stops at the cap."""

    def __init__(self, url: str, encoding: str) -> None:
        self.url = url
        self.encoding = encoding
        self._inflate: zlib._Decompress | None = None

    @classmethod
    def for_response(cls, url: str, response: httpx.Response) -> _Inflater | None:
        """None for an identity body; FetchFailedError for stacked or unknown encodings."""
        given = ",".join(response.headers.get_list("content-encoding"))
        encodings = [e.strip().lower() for e in given.split(",") if e.strip() and e.strip().lower() != "identity"]
        if len(encodings) > 1:
            raise FetchFailedError(f"{url}: stacked content encodings ({given}) are not accepted")
        if not encodings:
            return None
        if encodings[0] not in ("gzip", "x-gzip", "deflate"):
            raise FetchFailedError(f"{url}: content encoding {encodings[0]!r} is not accepted ({ACCEPT_ENCODING})")
        return cls(url, encodings[0])

    def _start(self, data: bytes) -> zlib._Decompress:
        if self.encoding != "deflate":
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        # "deflate" is zlib-wrapped by the standard, raw deflate from some servers: the header tells them apart
        wrapped = len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
        return zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)

    def feed(self, data: bytes, body: bytearray, limit: int) -> None:
        try:
            while data:
                if self._inflate is None:
                    self._inflate = self._start(data)
                body.extend(self._inflate.decompress(data, limit - len(body) + 1))
                if len(body) > limit:
                    return  # the caller refuses it
                if self._inflate.eof:  # another gzip member may follow
                    data, self._inflate = self._inflate.unused_data, None
                else:
                    data = self._inflate.unconsumed_tail
        except zlib.error as exc:
            raise FetchFailedError(f"{self.url}: the {self.encoding} body is damaged ({exc})") from None


def fetcher_for(settings: Settings) -> Fetcher:
    """A fetcher with the deployment's QA_FETCH_* settings."""
    return Fetcher(
        allow_private=settings.fetch_allow_private,
        timeout_s=settings.fetch_timeout_s,
        max_bytes=settings.fetch_max_bytes,
    )


class FetchPool:
    """The API's fetches, in threads of their own, at most QA_FETCH_CONCURRENCY at once.

    A fetch can take QA_FETCH_TIMEOUT_S; in the event loop's thread pool, which answers questions, 80 slow
    upstreams made `/ask` and `/health` wait 40 s. Here they wait for each other instead. One pool per app.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._executor = ThreadPoolExecutor(max_workers=settings.fetch_concurrency, thread_name_prefix="qa-fetch")

    def _fetch(self, url: str, accept: Sequence[str]) -> Fetched:
        with fetcher_for(self.settings) as fetcher:
            return fetcher.fetch(url, accept)

    async def fetch(self, url: str, accept: Sequence[str] = HTML_TYPES) -> Fetched:
        return await asyncio.wrap_future(self._executor.submit(self._fetch, url, accept))

    async def fetch_all(
        self, urls: Sequence[str], accept: Sequence[str] = HTML_TYPES
    ) -> list[Fetched | QAServiceError]:
        """Each URL's page or its error, fetched side by side; one not in within QA_FETCH_BATCH_S is an error
        (a fetch already running ends by its own deadline; one still queued is never started)."""
        tasks = [asyncio.ensure_future(self.fetch(url, accept)) for url in urls]
        if not tasks:
            return []
        _, pending = await asyncio.wait(tasks, timeout=self.settings.fetch_batch_s)
        for task in pending:
            task.cancel()
        results: list[Fetched | QAServiceError] = []
        for url, task in zip(urls, tasks, strict=True):
            if task in pending:
                budget = f"{self.settings.fetch_batch_s:g} s"
                results.append(FetchFailedError(f"{url}: not fetched within the batch's {budget} (QA_FETCH_BATCH_S)"))
                continue
            error = task.exception()
            if error is None:
                results.append(task.result())
            elif isinstance(error, QAServiceError):
                results.append(error)
            else:
                raise error
        return results

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
