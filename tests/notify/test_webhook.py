"""Webhooks, delivered to a real HTTP receiver on loopback that checks every signature."""

from __future__ import annotations

import hashlib
import hmac
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import trustme
from hookreceiver import trickling
from hypothesis import given
from hypothesis import strategies as st

from emstrack.notify.webhook import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    VERIFY_SNIPPET,
    Delivery,
    UnsafeURL,
    WebhookPoster,
    check_url,
    check_url_syntax,
    sign,
    verify,
)

SECRET = "whsec_test"
BODY = b'{"event":"delivered","tracking_number":"EE123456785CN"}'


def _snippet_verify() -> Callable[..., bool]:
    """The receivers' snippet, run as they would run it."""
    namespace: dict[str, Any] = {}
    exec(VERIFY_SNIPPET, namespace)
    check: Callable[..., bool] = namespace["verify"]
    return check


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    #: The signature as checked by `verify`, by hand with hmac, and by the receivers' snippet.
    verified: tuple[bool, bool, bool]


@dataclass
class Receiver:
    """What reached the receiver, and where it listens."""

    base: str
    received: list[Received] = field(default_factory=list)
    #: Set at the end of the test, to let a slow request go without an answer.
    done: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        return self.base + path

    @property
    def paths(self) -> list[str]:
        return [r.path for r in self.received]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    snippet_verify = _snippet_verify()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            timestamp = self.headers.get(TIMESTAMP_HEADER, "")
            signature = self.headers.get(SIGNATURE_HEADER, "")
            by_hand = (
                "sha256="
                + hmac.new(
                    SECRET.encode(), timestamp.encode() + b"." + body, hashlib.sha256
                ).hexdigest()
            )
            receiver.received.append(
                Received(
                    self.path,
                    dict(self.headers.items()),
                    body,
                    (
                        verify(SECRET, timestamp, signature, body, now=int(time.time())),
                        hmac.compare_digest(by_hand, signature),
                        snippet_verify(SECRET, self.headers, body),
                    ),
                )
            )
            if self.path == "/slow":
                receiver.done.wait(10)
                return  # the poster hung up long ago
            status, headers, text = {
                "/ok": (204, {}, ""),
                "/redirect": (302, {"Location": "/target"}, ""),
                "/gone": (410, {}, "subscription gone"),
                "/broken": (500, {}, "database is down " + "x" * 5000),
                "/busy": (429, {"Retry-After": "120"}, "slow down"),
                "/maintenance": (503, {"Retry-After": "Wed, 21 Oct 2065 07:28:00 GMT"}, ""),
                "/odd-retry": (503, {"Retry-After": "soon"}, ""),
            }.get(self.path, (200, {}, "thanks"))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text.encode())

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the tests read `received`, not the log."""

    return Handler


def _serve(receiver: Receiver, server: ThreadingHTTPServer) -> Iterator[Receiver]:
    server.daemon_threads = True  # a slow handler must not hold up the end of the test
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.done.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver("")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    receiver.base = f"http://127.0.0.1:{server.server_address[1]}"
    yield from _serve(receiver, server)


@pytest.fixture
def poster() -> Iterator[WebhookPoster]:
    poster = WebhookPoster(timeout=0.5, allow_private=True)
    yield poster
    poster.close()


def test_a_delivery_is_signed_and_carries_the_event_id(
    receiver: Receiver, poster: WebhookPoster
) -> None:
    delivery = poster.send(receiver.url("/ok"), SECRET, "evt_0001", BODY)

    assert delivery == Delivery(ok=True, status=204, retryable=False, error=None)
    [got] = receiver.received
    assert got.body == BODY
    assert got.verified == (True, True, True)
    assert got.headers[EVENT_ID_HEADER] == "evt_0001"
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["User-Agent"] == "emstrack-webhook/1"
    assert got.headers["Host"] == receiver.base.removeprefix("http://")


def test_a_retry_carries_the_same_event_id_so_receivers_can_drop_repeats(
    receiver: Receiver, poster: WebhookPoster
) -> None:
    poster.send(receiver.url("/ok"), SECRET, "evt_0002", BODY)
    poster.send(receiver.url("/ok"), SECRET, "evt_0002", BODY)

    assert [r.headers[EVENT_ID_HEADER] for r in receiver.received] == ["evt_0002"] * 2


def test_a_server_error_is_retried_and_its_reason_kept_short(
    receiver: Receiver, poster: WebhookPoster
) -> None:
    delivery = poster.send(receiver.url("/broken"), SECRET, "evt_0003", BODY)

    assert (delivery.ok, delivery.status, delivery.retryable) == (False, 500, True)
    assert delivery.error is not None
    assert delivery.error.startswith("HTTP 500: database is down")
    assert len(delivery.error) <= 200


@pytest.mark.parametrize(
    ("path", "wait"),
    [("/busy", 120.0), ("/maintenance", 24 * 3600.0), ("/odd-retry", None), ("/broken", None)],
)
def test_the_receivers_retry_after_is_reported(
    receiver: Receiver, poster: WebhookPoster, path: str, wait: float | None
) -> None:
    # Seconds as given; a date far off is capped at a day; nonsense or nothing: our back-off.
    delivery = poster.send(receiver.url(path), SECRET, "evt_0009", BODY)
    assert (delivery.ok, delivery.retryable) == (False, True)
    assert delivery.retry_after == wait


def test_gone_is_not_retried(receiver: Receiver, poster: WebhookPoster) -> None:
    delivery = poster.send(receiver.url("/gone"), SECRET, "evt_0004", BODY)

    assert (delivery.ok, delivery.status, delivery.retryable) == (False, 410, False)
    assert delivery.error == "HTTP 410: subscription gone"


def test_a_redirect_is_not_followed(receiver: Receiver, poster: WebhookPoster) -> None:
    delivery = poster.send(receiver.url("/redirect"), SECRET, "evt_0005", BODY)

    assert (delivery.ok, delivery.status, delivery.retryable) == (False, 302, False)
    assert delivery.error is not None
    assert "redirects are not followed" in delivery.error
    assert receiver.paths == ["/redirect"]  # nothing reached /target


def test_a_receiver_slower_than_the_timeout_is_retried(
    receiver: Receiver, poster: WebhookPoster
) -> None:
    started = time.monotonic()
    delivery = poster.send(receiver.url("/slow"), SECRET, "evt_0006", BODY)

    assert (delivery.ok, delivery.status, delivery.retryable) == (False, None, True)
    assert delivery.error == "timed out after 0.5 s"
    assert time.monotonic() - started < 5


def test_a_receiver_that_trickles_its_answer_is_cut_off_at_the_deadline(
    poster: WebhookPoster,
) -> None:
    # One byte every 0.05 s: each read is well within the 0.5 s, the whole answer takes 20 s.
    with trickling() as slow:
        delivery = poster.send(slow.url("/hook"), SECRET, "evt_0013", BODY)

        assert (delivery.ok, delivery.status, delivery.retryable) == (False, None, True)
        assert delivery.error == "timed out after 0.5 s"
        assert slow.requests == 1
        assert slow.hung_up.wait(10)  # the poster let go in the middle of the answer
        assert not slow.finished.is_set()


def test_resolving_the_host_counts_against_the_deadline() -> None:
    answer = threading.Event()

    def slow_dns(host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        answer.wait(30)  # a resolver that is not answering
        return socket.getaddrinfo("127.0.0.1", port, *args, **kwargs)

    poster = WebhookPoster(timeout=0.5, allow_private=True, getaddrinfo=slow_dns)
    try:
        delivery = poster.send("http://hooks.example.com/in", SECRET, "evt_0014", BODY)
        still_resolving = not answer.is_set()
    finally:
        answer.set()
        poster.close()

    assert delivery == Delivery(
        False, None, True, "timed out after 0.5 s resolving hooks.example.com"
    )
    assert still_resolving


def test_nothing_listening_is_retried(poster: WebhookPoster) -> None:
    delivery = poster.send("http://127.0.0.1:9/", SECRET, "evt_0007", BODY)

    assert (delivery.ok, delivery.status, delivery.retryable) == (False, None, True)
    assert delivery.error is not None
    assert delivery.error.startswith("cannot connect")


def test_loopback_is_refused_unless_private_addresses_are_allowed(receiver: Receiver) -> None:
    strict = WebhookPoster(timeout=0.5)
    try:
        delivery = strict.send(receiver.url("/ok"), SECRET, "evt_0008", BODY)
    finally:
        strict.close()

    assert (delivery.ok, delivery.status, delivery.retryable) == (False, None, False)
    assert delivery.error is not None
    assert "not a public internet address" in delivery.error
    assert receiver.received == []
    with pytest.raises(UnsafeURL) as refused:
        check_url(receiver.url("/ok"))
    assert refused.value.code == "private_address"
    check_url(receiver.url("/ok"), allow_private=True)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_receiver(ca: trustme.CA) -> Iterator[Receiver]:
    receiver = Receiver("")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    # A certificate for the name only: the request goes to 127.0.0.1, so this passes only if
    # the name still reaches TLS (SNI and the certificate check).
    ca.issue_cert("localhost").configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    receiver.base = f"https://localhost:{server.server_address[1]}"
    yield from _serve(receiver, server)


def test_https_goes_to_the_checked_address_and_still_checks_the_name(
    tls_receiver: Receiver, ca: trustme.CA
) -> None:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    poster = WebhookPoster(timeout=2, allow_private=True, verify=context)
    try:
        delivery = poster.send(tls_receiver.url("/ok"), SECRET, "evt_0009", BODY)
    finally:
        poster.close()

    assert delivery.ok, delivery.error
    [got] = tls_receiver.received
    assert got.verified == (True, True, True)
    assert got.headers["Host"] == tls_receiver.base.removeprefix("https://")


def test_https_with_an_untrusted_certificate_fails(tls_receiver: Receiver) -> None:
    poster = WebhookPoster(timeout=2, allow_private=True)
    try:
        delivery = poster.send(tls_receiver.url("/ok"), SECRET, "evt_0010", BODY)
    finally:
        poster.close()

    assert (delivery.ok, delivery.retryable) == (False, True)
    assert delivery.error is not None
    assert "CERTIFICATE_VERIFY_FAILED" in delivery.error
    assert tls_receiver.received == []


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("ftp://hooks.example.com/in", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("javascript:alert(1)", "scheme"),
        ("https://user:secret@hooks.example.com/in", "credentials"),
        ("https://token@hooks.example.com/in", "credentials"),
        # Read as a user name by the parser that makes the request, so refused as one; a
        # looser parser would see the host hooks.example.com.
        ("http://hooks.example.com\\@10.0.0.1/", "credentials"),
        ("https:///in", "host"),
        ("https://hooks.example.com:99999/in", "host"),
    ],
)
def test_urls_that_can_never_be_safe_are_refused_without_dns(url: str, code: str) -> None:
    for check in (check_url_syntax, check_url):
        with pytest.raises(UnsafeURL) as refused:
            check(url)
        assert refused.value.code == code
        assert str(refused.value)


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.1",
        "10.255.255.254",
        "172.16.0.1",
        "172.31.255.1",
        "192.168.1.1",
        "127.0.0.1",
        "127.8.8.8",
        "169.254.169.254",  # the cloud metadata service
        "100.100.100.200",  # Alibaba Cloud's metadata, in the shared 100.64.0.0/10
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.2.10",  # documentation
        "[::1]",
        "[::]",
        "[fc00::1]",
        "[fd12:3456::1]",
        "[fe80::1]",
        "[ff02::1]",
        "[::ffff:127.0.0.1]",
        "[::ffff:10.0.0.1]",
        "[::ffff:169.254.169.254]",
        "[2002:7f00:1::1]",  # 6to4 wrapping 127.0.0.1
        "[2002:a9fe:a9fe::1]",  # 6to4 wrapping 169.254.169.254
        "[64:ff9b::a9fe:a9fe]",  # NAT64 wrapping 169.254.169.254
        "2130706433",  # 127.0.0.1 as one number
        "0x7f.1",  # 127.0.0.1 the inet_aton way
    ],
)
def test_private_and_reserved_addresses_are_refused(address: str) -> None:
    with pytest.raises(UnsafeURL) as refused:
        check_url(f"https://{address}/hook")
    assert refused.value.code == "private_address"
    check_url(f"https://{address}/hook", allow_private=True)


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "[2606:4700:4700::1111]"])
def test_public_addresses_pass(address: str) -> None:
    check_url(f"https://{address}/hook")
    check_url_syntax(f"https://{address}/hook")


def test_the_syntax_check_refuses_a_literal_private_address_but_does_not_resolve_names() -> None:
    with pytest.raises(UnsafeURL) as refused:
        check_url_syntax("http://169.254.169.254/latest/meta-data/")
    assert refused.value.code == "private_address"
    check_url_syntax("http://169.254.169.254/", allow_private=True)
    check_url_syntax("https://no-such-host.invalid/hook")  # resolved only at send time


def test_a_name_that_does_not_resolve_is_refused_and_retried_later(
    poster: WebhookPoster,
) -> None:
    with pytest.raises(UnsafeURL) as refused:
        check_url("https://no-such-host.invalid/hook")
    assert refused.value.code == "unresolvable"
    delivery = poster.send("https://no-such-host.invalid/hook", SECRET, "evt_0011", BODY)
    assert (delivery.ok, delivery.retryable) == (False, True)


def test_an_unsafe_url_is_not_retried(poster: WebhookPoster) -> None:
    delivery = poster.send("ftp://hooks.example.com/in", SECRET, "evt_0012", BODY)

    assert delivery == Delivery(
        ok=False,
        status=None,
        retryable=False,
        error="Only http:// and https:// URLs can receive webhooks.",
    )


def test_the_signature_matches_a_vector_computed_elsewhere() -> None:
    # printf '1767225600.{"event":"delivered"}' | openssl dgst -sha256 -hmac whsec_test
    expected = "sha256=a04c0706498292fc94b83cf4e58c2c2873a988909f7149952fd3235d70d33694"

    assert sign("whsec_test", 1767225600, b'{"event":"delivered"}') == expected
    assert verify("whsec_test", "1767225600", expected, b'{"event":"delivered"}', now=1767225600)


@pytest.mark.parametrize(
    ("timestamp", "now", "accepted"),
    [
        ("1767225600", 1767225600, True),
        ("1767225600", 1767225600 + 300, True),
        ("1767225600", 1767225600 + 301, False),  # stale: a replay
        ("1767225600", 1767225600 - 301, False),  # from the future
    ],
)
def test_verify_refuses_timestamps_outside_the_tolerance(
    timestamp: str, now: int, accepted: bool
) -> None:
    signature = sign(SECRET, int(timestamp), BODY)

    assert verify(SECRET, timestamp, signature, BODY, now=now) is accepted


@pytest.mark.parametrize("timestamp", ["", " 1767225600", "+1767225600", "1_767_225_600", "١٢"])
def test_verify_refuses_a_timestamp_that_is_not_plain_digits(timestamp: str) -> None:
    signature = sign(SECRET, 1767225600, BODY)

    assert not verify(SECRET, timestamp, signature, BODY, now=1767225600, tolerance=10**12)


def test_verify_refuses_a_wrong_signature_of_any_shape() -> None:
    for signature in ["", "sha256=", "sha256=00", "签名", sign("other", 1767225600, BODY)]:
        assert not verify(SECRET, "1767225600", signature, BODY, now=1767225600)


@given(secret=st.text(min_size=1), body=st.binary(), timestamp=st.integers(0, 2**40))
def test_a_signature_verifies_and_any_change_to_the_body_breaks_it(
    secret: str, body: bytes, timestamp: int
) -> None:
    signature = sign(secret, timestamp, body)

    assert verify(secret, str(timestamp), signature, body, now=timestamp)
    assert not verify(secret, str(timestamp), signature, body + b" ", now=timestamp)
    assert _snippet_verify()(secret, _Headers(timestamp, signature), body) is (
        abs(time.time() - timestamp) <= 300
    )


class _Headers(dict[str, str]):
    def __init__(self, timestamp: int, signature: str) -> None:
        super().__init__({TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signature})
