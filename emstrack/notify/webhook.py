"""Webhooks: sign a JSON event, POST it to a subscriber's URL, and say whether to try again.

A delivery carries three headers. `X-Emstrack-Event-Id` is stable across retries, so receivers
can drop repeats. `X-Emstrack-Timestamp` is the sending time in Unix seconds, and
`X-Emstrack-Signature` is `sha256=` + hex HMAC-SHA256 of `"{timestamp}." + body` under the
subscription's secret. A receiver verifies with the standard library alone: `VERIFY_SNIPPET`
below is a function to copy (docs/channels.md shows the same).

The URL is a door into the operator's network (SSRF): it is checked when the subscription is
made (`check_url_syntax`, no DNS) and again at every send (`check_url`), and the request goes to
the very address that was checked, so a name that resolves elsewhere between the check and the
connection (DNS rebinding) does not get through.

Each delivery has one wall-clock deadline, `timeout`, for everything: resolving the host,
connecting, sending and reading the answer. A timeout per read alone lets a receiver that
answers one byte at a time hold a delivery for as long as it likes.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import hmac
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final

import httpx

from emstrack.errors import InputError

SIGNATURE_HEADER: Final = "X-Emstrack-Signature"
TIMESTAMP_HEADER: Final = "X-Emstrack-Timestamp"
EVENT_ID_HEADER: Final = "X-Emstrack-Event-Id"

VERIFY_SNIPPET: Final = '''\
import hashlib, hmac, time

def verify(secret: str, headers, body: bytes, tolerance: int = 300) -> bool:
    """True if `body` (the raw bytes, before any JSON parsing) was signed by emstrack."""
    timestamp = headers["X-Emstrack-Timestamp"]
    signature = headers["X-Emstrack-Signature"]
    if not (timestamp.isascii() and timestamp.isdigit()):
        return False
    if abs(time.time() - int(timestamp)) > tolerance:
        return False  # too old or from the future: a replay, or a wrong clock
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest(("sha256=" + mac.hexdigest()).encode(), signature.encode())
'''

_ERROR_LENGTH = 200
_RETRYABLE_STATUS = frozenset({408, 425, 429})
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: `socket.getaddrinfo`, or a stand-in with its signature.
Resolver = Callable[..., Sequence[tuple[Any, ...]]]


class UnsafeURL(InputError):
    """A webhook URL we will not call; `code` is one of scheme, credentials, host,
    private_address, unresolvable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)


@dataclass(frozen=True)
class Delivery:
    """The outcome of one POST: delivered, or failed and worth (or not worth) trying again."""

    ok: bool
    status: int | None
    retryable: bool
    error: str | None
    retry_after: float | None = None  # seconds the receiver asked us to wait (429, 503)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for `body` sent at `timestamp` (Unix seconds)."""
    return _signature(secret, str(timestamp), body)


def verify(
    secret: str, timestamp: str, signature: str, body: bytes, *, now: int, tolerance: int = 300
) -> bool:
    """True if `signature` is ours for `body` and `timestamp` is within `tolerance` of `now`."""
    # Only plain digits: int() would also take " 12", "+12", "1_2" and non-ASCII digits, which
    # are not the bytes that were signed.
    if not (timestamp.isascii() and timestamp.isdigit()):
        return False
    if abs(now - int(timestamp)) > tolerance:
        return False
    expected = _signature(secret, timestamp, body)
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


def check_url_syntax(url: str, *, allow_private: bool = False) -> None:
    """Refuse a URL that can never be safe, without DNS: for checking at subscription time.

    A literal IP address is checked here; a name is only resolved and checked at send time.
    """
    parsed = _parse(url)
    literal = _literal_ip(parsed.host)
    if literal is not None and not allow_private:
        _refuse_address(parsed.host, literal)


def check_url(url: str, *, allow_private: bool = False) -> None:
    """Refuse `url` unless it is http(s) and every address its host resolves to is public."""
    _resolve(url, allow_private=allow_private, getaddrinfo=socket.getaddrinfo)


class WebhookPoster:
    """POSTs signed events, each within one deadline of `timeout` seconds, DNS included."""

    def __init__(
        self,
        *,
        timeout: float = 10.0,
        allow_private: bool = False,
        verify: ssl.SSLContext | None = None,
        user_agent: str = "emstrack-webhook/1",
        getaddrinfo: Resolver = socket.getaddrinfo,
    ) -> None:
        self._timeout = timeout
        self._allow_private = allow_private
        self._user_agent = user_agent
        self._getaddrinfo = getaddrinfo
        # trust_env=False, here and for each client: the environment's proxies would take the
        # connection out of our hands, and a ~/.netrc would add the operator's credentials to
        # requests to strangers.
        self._ssl = verify or httpx.create_ssl_context(trust_env=False)
        # The system resolver cannot be interrupted: a lookup runs in one of these threads so
        # that the delivery can give up on it at the deadline. A lookup that never ends keeps
        # its thread only until the resolver itself gives up.
        self._dns = ThreadPoolExecutor(max_workers=4, thread_name_prefix="webhook-dns")

    def close(self) -> None:
        """Let go of the lookup threads (one still waiting for a resolver ends on its own)."""
        self._dns.shutdown(wait=False, cancel_futures=True)

    def send(
        self, url: str, secret: str, event_id: str, body: bytes, *, now: int | None = None
    ) -> Delivery:
        """POST `body` to `url`, signed with `secret`; never raises for the receiver's faults.

        Blocks until done or `timeout` is up: call it from a thread, not from a running event
        loop.
        """
        timestamp = int(time.time()) if now is None else now
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(secret, timestamp, body),
            TIMESTAMP_HEADER: str(timestamp),
            EVENT_ID_HEADER: event_id,
        }
        return self.post(url, headers, body)

    def post(self, url: str, headers: dict[str, str], body: bytes) -> Delivery:
        """POST `body` with `headers` (and our Host and User-Agent) to `url`, with every check
        and the deadline of `send`: what another channel that POSTs to a stranger's URL (web
        push) shares with webhooks. Never raises for the receiver's faults."""
        deadline = time.monotonic() + self._timeout
        lookup = self._dns.submit(
            _resolve, url, allow_private=self._allow_private, getaddrinfo=self._getaddrinfo
        )
        try:
            parsed, addresses = lookup.result(timeout=self._timeout)
        except TimeoutError:
            lookup.cancel()  # if it has not started yet
            return self._timed_out(f" resolving {_parse(url).host}")
        except UnsafeURL as exc:
            # A name that does not resolve now may resolve later (a DNS outage); the rest is
            # the URL itself, which no retry will change.
            return Delivery(False, None, exc.code == "unresolvable", exc.message)
        headers = {
            "Host": parsed.netloc.decode("ascii"),
            "User-Agent": self._user_agent,
            **headers,
        }
        return asyncio.run(self._post(parsed, addresses, headers, body, deadline))

    async def _post(
        self,
        parsed: httpx.URL,
        addresses: list[IPAddress],
        headers: dict[str, str],
        body: bytes,
        deadline: float,
    ) -> Delivery:
        # A client of its own per delivery: no cookie or connection of one subscriber is
        # ever seen by another one on the same address.
        async with httpx.AsyncClient(
            verify=self._ssl, trust_env=False, timeout=self._timeout, follow_redirects=False
        ) as client:
            try:
                # Cancels whatever step is under way when the time is up, a read included.
                async with asyncio.timeout(deadline - time.monotonic()):
                    return await _try_each(client, parsed, addresses, headers, body)
            except (TimeoutError, httpx.TimeoutException):
                return self._timed_out()

    def _timed_out(self, doing: str = "") -> Delivery:
        return Delivery(False, None, True, f"timed out after {self._timeout:g} s{doing}")


async def _try_each(
    client: httpx.AsyncClient,
    parsed: httpx.URL,
    addresses: list[IPAddress],
    headers: dict[str, str],
    body: bytes,
) -> Delivery:
    """POST to each checked address in turn until one takes the connection."""
    # Connect to an address we checked, not to whatever the name resolves to a moment later;
    # TLS still verifies the certificate against the name (sni_hostname).
    extensions = {"sni_hostname": parsed.raw_host.decode("ascii")}
    refused: Delivery | None = None
    for address in addresses:
        try:
            async with client.stream(
                "POST",
                parsed.copy_with(host=str(address)),
                content=body,
                headers=headers,
                extensions=extensions,
            ) as response:
                return await _outcome(response)
        except httpx.ConnectError as exc:
            # Refused or unreachable at once: the next address may answer ("localhost" is
            # often ::1 first, where nothing listens).
            refused = Delivery(False, None, True, _short(f"cannot connect: {exc}"))
        except httpx.TimeoutException:
            raise  # the caller words it
        except httpx.TransportError as exc:
            return Delivery(False, None, True, _short(f"{type(exc).__name__}: {exc}"))
    assert refused is not None  # _resolve never returns an empty list
    return refused


def _signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


async def _outcome(response: httpx.Response) -> Delivery:
    status = response.status_code
    if 200 <= status < 300:
        return Delivery(True, status, False, None)
    if 300 <= status < 400:
        return Delivery(False, status, False, f"HTTP {status}: redirects are not followed")
    retryable = status in _RETRYABLE_STATUS or status >= 500
    error = _short(f"HTTP {status}: {await _peek(response)}")
    return Delivery(False, status, retryable, error, _retry_after(response, time.time()))


#: Longest wait a receiver may ask for; past it, our own back-off (capped at hours) rules.
_MAX_RETRY_AFTER = 24 * 3600.0


def _retry_after(response: httpx.Response, now: float) -> float | None:
    """`Retry-After` in seconds (delta-seconds or an HTTP date), or None when absent or bad."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():
        seconds = float(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - now
    return min(max(seconds, 0.0), _MAX_RETRY_AFTER)


async def _peek(response: httpx.Response) -> str:
    """The start of the body, for the operator; never the whole of what a stranger sends."""
    taken = b""
    async for chunk in response.aiter_raw():
        taken += chunk
        if len(taken) >= _ERROR_LENGTH:
            break
    return " ".join(taken[:_ERROR_LENGTH].decode("utf-8", "replace").split())


def _short(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _ERROR_LENGTH else text[: _ERROR_LENGTH - 1] + "…"


def _parse(url: str) -> httpx.URL:
    # The same parser as the request itself: a second parser that reads the host differently
    # ("http://a.com\@10.0.0.1/") is a classic way around checks like these.
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise UnsafeURL("host", f"The URL cannot be read: {exc}.") from None
    if parsed.scheme not in ("http", "https"):
        raise UnsafeURL("scheme", "Only http:// and https:// URLs can receive webhooks.")
    if parsed.userinfo:
        raise UnsafeURL(
            "credentials",
            "The URL must not contain a user name or password; "
            "the signature tells the receiver who is calling.",
        )
    if not parsed.host:
        raise UnsafeURL("host", "The URL has no host.")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise UnsafeURL("host", f"The port {parsed.port} does not exist.")
    return parsed


def _resolve(
    url: str, *, allow_private: bool, getaddrinfo: Resolver
) -> tuple[httpx.URL, list[IPAddress]]:
    """The parsed URL and the addresses its host resolves to, every one of them checked."""
    parsed = _parse(url)
    host = parsed.raw_host.decode("ascii")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        found = getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UnsafeURL("unresolvable", f"The host {host} cannot be resolved ({exc}).") from None
    addresses: list[IPAddress] = []
    for *_, sockaddr in found:
        # An IPv6 link-local address comes with a zone ("fe80::1%eth0"); the zone is no part
        # of the address.
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if not allow_private:
            _refuse_address(host, address)
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UnsafeURL("unresolvable", f"The host {host} has no address.")
    return parsed, addresses


def _literal_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _refuse_address(host: str, address: IPAddress) -> None:
    if _is_internal(address):
        shown = host if _literal_ip(host) == address else f"{host} ({address})"
        raise UnsafeURL(
            "private_address",
            f"The host {shown} is not a public internet address; notices (webhooks, web "
            "pushes) go only to public servers.",
        )


def _is_internal(address: IPAddress) -> bool:
    """True for any address that is not plainly a public unicast one, embedded forms included."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = [address.ipv4_mapped, address.sixtofour]
        if address.teredo:
            embedded.append(address.teredo[1])
        if address in _NAT64:
            embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if any(v4 is not None and _is_internal(v4) for v4 in embedded):
            return True
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        # Also what is neither private nor global, such as the shared 100.64.0.0/10, where
        # some clouds keep their metadata service (100.100.100.200).
        or not address.is_global
    )
