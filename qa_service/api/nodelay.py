"""uvicorn's HTTP protocol with TCP_NODELAY on every connection, for any number of workers.

asyncio sets TCP_NODELAY on accepted sockets only when the listening socket says its protocol is TCP. uvicorn
with one worker lets asyncio create that socket (it does say so); with `--workers N` it binds the socket itself
with `socket.socket(family)`, protocol 0, so asyncio skips it. Nagle's algorithm then holds back the body of a
response until the client acknowledges its headers, which a keep-alive client delays by up to 40 ms: every
request over a reused connection took ~60 ms instead of ~18 ms. Setting the option per connection fixes that
whatever made the listening socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # uvicorn's AutoHTTPProtocol is a variable, httptools' protocol or h11's; they share these methods
    from uvicorn.protocols.http.h11_impl import H11Protocol as AutoHTTPProtocol
else:
    from uvicorn.protocols.http.auto import AutoHTTPProtocol


def set_nodelay(transport: asyncio.BaseTransport) -> bool:
    """Turn Nagle's algorithm off on a TCP transport; False for Unix sockets and the like."""
    sock = transport.get_extra_info("socket")
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return False
    with contextlib.suppress(OSError):  # the peer may already be gone; nothing to speed up then
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return True
    return False


class NoDelayHTTPProtocol(AutoHTTPProtocol):
    """uvicorn's own HTTP protocol (httptools when installed, else h11), plus TCP_NODELAY on connect."""

    # narrower than asyncio's BaseTransport, as in uvicorn's own protocols (which ignore the same check)
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        set_nodelay(transport)
        super().connection_made(transport)
