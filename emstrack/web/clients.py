"""Who the client is: the connecting address, or what a trusted reverse proxy says it is.

`X-Forwarded-For` and `X-Forwarded-Proto` are believed only from the addresses in
`EMSTRACK_TRUSTED_PROXIES`, and only as far back as the chain of trusted proxies goes: each
proxy appends the address it was reached from, so the first address from the right that is not
a trusted proxy is the client; what lies further left, the client wrote itself.

This is done in the app, not by the server's options, so that `emstrack serve`, uvicorn and
gunicorn started by hand behave alike. Uvicorn and gunicorn rewrite the client address themselves
for peers they trust (loopback by default) before the app sees it, and the hop it came through is
then lost: such a request counts as the one client `UNVERIFIED` unless trusted proxies are set,
so a spoofed header never buys a fresh limit (`emstrack serve` turns their rewriting off).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import lru_cache
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger(__name__)

Network = IPv4Network | IPv6Network
Address = IPv4Address | IPv6Address

#: The client of a request whose address the server in front took from `X-Forwarded-For`.
UNVERIFIED = "unverified-forwarded"


@lru_cache(maxsize=4096)
def limit_key(host: str, ipv6_prefix: int) -> str:
    """The bucket a client address counts in: an IPv4 address, or its IPv6 network."""
    try:
        address = ip_address(host)
    except ValueError:
        return host  # not an address (a Unix socket, a test client): as it is
    if isinstance(address, IPv6Address):
        if address.ipv4_mapped is not None:  # ::ffff:192.0.2.1 is the IPv4 client 192.0.2.1
            return str(address.ipv4_mapped)
        # One household or server holds a whole /64: counting per address would give it 2^64.
        return str(ip_network(f"{address}/{ipv6_prefix}", strict=False))
    return str(address)


def is_https(request: Request) -> bool:
    """Whether the request came over HTTPS, directly or through a trusted proxy."""
    return request.url.scheme == "https"


@lru_cache(maxsize=4096)
def _address(entry: str) -> Address | None:
    """The address of one `X-Forwarded-For` entry (`192.0.2.1`, `192.0.2.1:80`, `[::1]:80`)."""
    entry = entry.strip()
    if entry.startswith("[") and "]" in entry:
        entry = entry[1 : entry.index("]")]
    elif entry.count(":") == 1:
        entry = entry.partition(":")[0]
    try:
        return ip_address(entry)
    except ValueError:
        return None


class ProxyHeaders:
    """Sets the ASGI scope's client and scheme from a trusted proxy's forwarded headers."""

    def __init__(self, app: ASGIApp, trusted: Sequence[Network]) -> None:
        self.app = app
        self.trusted = tuple(trusted)
        self._warned = False

    def _trusts(self, address: Address | None) -> bool:
        return address is not None and any(address in network for network in self.trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self._resolve(scope)
        await self.app(scope, receive, send)

    def _resolve(self, scope: Scope) -> None:
        forwarded: list[str] = []
        proto = b""
        for name, value in scope["headers"]:
            if name == b"x-forwarded-for":
                forwarded += value.decode("latin-1").split(",")
            elif name == b"x-forwarded-proto":
                proto = value
        if not forwarded and not self.trusted:
            return  # nobody's word to take: the peer is the client (the usual request)
        chain = [_address(entry) for entry in forwarded]
        client = scope.get("client")
        peer = _address(client[0]) if client else None
        if chain and peer is not None and peer in chain:
            self._rewritten_before_us()
            if not self.trusted:
                scope["client"] = (UNVERIFIED, 0)
                return
            # The hop is lost: read the whole chain as if it had come from a trusted proxy.
            peer_trusted = True
        else:
            peer_trusted = self._trusts(peer)
        if not peer_trusted:
            return
        if chain:
            scope["client"] = (str(self._client(chain, peer)), 0)
        # The nearest proxy's word, when there are several.
        scheme = proto.decode("latin-1").rsplit(",", 1)[-1].strip().lower()
        if scheme in ("http", "https"):
            scope["scheme"] = scheme

    def _client(self, chain: list[Address | None], peer: Address | None) -> Address | None:
        """The first address from the right that is not a trusted proxy."""
        nearest = peer
        for address in reversed(chain):
            if address is None:
                # Not an address: nothing further left can be checked; the last trusted hop
                # is as far as we know.
                return nearest
            if not self._trusts(address):
                return address
            nearest = address
        return nearest  # every hop a trusted proxy: the client is one of them

    def _rewritten_before_us(self) -> None:
        if not self._warned:
            self._warned = True
            log.warning(
                "the server in front took the client address from X-Forwarded-For before the "
                "app could check it against EMSTRACK_TRUSTED_PROXIES, so all such requests count "
                "as one client; run uvicorn with --no-proxy-headers, or use `emstrack serve`"
            )
