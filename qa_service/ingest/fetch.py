"""Fetching a page or a feed for ingest without becoming a way into the private network (SSRF).

Every hop (the URL and each redirect) is checked the same way: http or https only; the host name is resolved
once and every address it resolves to must be public (not loopback, private, shared, reserved or multicast)
unless QA_FETCH_ALLOW_PRIVATE=true, and never link-local (the cloud metadata address 169.254.169.254 is where
an SSRF steals credentials; no news is served there); the
connection then goes to the address that was checked (the Host header and TLS name stay the host's), so a DNS
answer that changes between the check and the connection (rebinding) gains nothing. Redirects are followed by
hand (at most five), the body is read up to a size cap, and only the expected content types are accepted.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from qa_service.config import Settings
from qa_service.errors import FetchFailedError, FetchRefusedError

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


def is_public(address: Address) -> bool:
    """Whether an address is out on the internet (an IPv4-mapped IPv6 address counts as its IPv4 address)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def is_link_local(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_link_local


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
        self.resolve = resolve
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=False,  # each hop is checked here
            trust_env=False,  # a proxy from the environment would resolve (and reach) what was refused here
            headers={"user-agent": USER_AGENT},
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
        for _ in range(MAX_REDIRECTS + 1):
            address, parts = self._checked(current)
            response = self._get(current, address, parts, accept)
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
                shown = host if str(address) == host else f"{host} ({address})"
                if is_link_local(address):
                    raise FetchRefusedError(f"{url}: refused, {shown} is a link-local address (never fetched)")
                raise FetchRefusedError(f"{url}: refused, {shown} is not a public address; {_PRIVATE_HINT}")
        return addresses[0], (scheme, host, port)

    def _allowed(self, address: Address) -> bool:
        if is_link_local(address):
            return False
        return self.allow_private or is_public(address) or any(address in n for n in self.allow_networks)

    def _get(self, url: str, address: Address, target: tuple[str, str, int], accept: Sequence[str]) -> Fetched | str:
        """The response (Fetched), or the next URL of a redirect (str)."""
        scheme, host, port = target
        parts = urlsplit(url)
        literal = f"[{address}]" if address.version == 6 else str(address)
        pinned = urlunsplit((scheme, f"{literal}:{port}", parts.path or "/", parts.query, ""))
        default_port = port == (443 if scheme == "https" else 80)
        headers = {"host": host if default_port else f"{host}:{port}", "accept": ", ".join(accept)}
        extensions = {"sni_hostname": host} if scheme == "https" else {}
        try:
            with self._client.stream("GET", pinned, headers=headers, extensions=extensions) as response:
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
                return Fetched(url=url, content=self._read(url, response), content_type=content_type)
        except httpx.HTTPError as exc:
            raise FetchFailedError(f"{url}: {type(exc).__name__} {exc}".rstrip()) from exc

    def _read(self, url: str, response: httpx.Response) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchFailedError(f"{url}: {int(declared):,} bytes, over the {self.max_bytes:,}-byte limit")
        body = bytearray()
        for piece in response.iter_bytes():
            body.extend(piece)
            if len(body) > self.max_bytes:
                raise FetchFailedError(f"{url}: over the {self.max_bytes:,}-byte limit")
        return bytes(body)


def fetcher_for(settings: Settings) -> Fetcher:
    """A fetcher with the deployment's QA_FETCH_* settings."""
    return Fetcher(
        allow_private=settings.fetch_allow_private,
        timeout_s=settings.fetch_timeout_s,
        max_bytes=settings.fetch_max_bytes,
    )
