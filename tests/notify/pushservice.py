"""A push service on loopback for the web push tests, and browsers that subscribe to it.

The service is a real HTTPS server in a thread (its certificate from a `trustme` CA that the
tests' senders trust). For every push it checks the VAPID `Authorization` header as a push
service does (the JWT's ES256 signature with the key in `k`, which must be the server's public
key; `aud` its own origin; `exp` in the future and at most 24 hours away; `sub` a contact), and
opens the sealed body with the subscribing browser's private key and auth secret, as the
browser would (`http_ece.decrypt`, aes128gcm). It answers what a test asks for: 201 by default,
or a queue of statuses per browser (404, 410, 429 with Retry-After, 500).
"""

from __future__ import annotations

import json
import os
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
import trustme
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from py_vapid import jwt

from emstrack.notify.webpush import b64url


@dataclass(frozen=True)
class Browser:
    """A browser's side of a push subscription: its key pair and auth secret."""

    name: str
    endpoint: str
    key: ec.EllipticCurvePrivateKey
    auth: bytes

    @property
    def p256dh(self) -> str:
        point = self.key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        return b64url(point)

    def subscription(self) -> dict[str, Any]:
        """What `PushSubscription.toJSON()` gives the app."""
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": self.p256dh, "auth": b64url(self.auth)},
        }

    def open(self, body: bytes) -> dict[str, Any]:
        """The notice inside a push, decrypted as the browser does."""
        plain = http_ece.decrypt(body, private_key=self.key, auth_secret=self.auth)
        payload: dict[str, Any] = json.loads(plain)
        return payload


@dataclass(frozen=True)
class Push:
    """One push that reached the service: to whom, its headers, and what it said."""

    browser: str
    status: int
    headers: dict[str, str]
    claims: dict[str, Any] | None  # the verified VAPID claims; None: not verified
    payload: dict[str, Any] | None  # decrypted; None: the browser could not open it
    body: bytes  # as the push service sees it


@dataclass
class PushService:
    """What reached the service; `answers` queues statuses (and headers) per browser name."""

    base: str = ""
    #: The server's VAPID public key (base64url) that every push must be signed with.
    vapid_key: str = ""
    browsers: dict[str, Browser] = field(default_factory=dict)
    answers: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=dict)
    pushes: list[Push] = field(default_factory=list)
    #: Wait this long before answering the first push of each topic (a slow service).
    slow_first: float = 0.0
    #: Topics being answered now, and of every push begun, in order.
    in_flight: set[str] = field(default_factory=set)
    started: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _seen_slow: set[str] = field(default_factory=set)

    def browser(self, name: str) -> Browser:
        """A new browser subscribed to this service under `name`."""
        key = ec.generate_private_key(ec.SECP256R1())
        made = Browser(name, f"{self.base}/push/{name}", key, os.urandom(16))
        self.browsers[name] = made
        return made

    def answer(self, name: str, status: int, **headers: str) -> None:
        """Answer the next push to `name` with `status` (and these headers)."""
        with self.lock:
            self.answers.setdefault(name, []).append((status, headers))

    def delivered(self, name: str | None = None) -> list[dict[str, Any]]:
        """The payloads accepted (2xx) for `name` (or for any browser), in order."""
        with self.lock:
            return [
                p.payload
                for p in self.pushes
                if p.payload is not None and p.status < 300 and (name is None or p.browser == name)
            ]

    def receive(self, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, str]]:
        name = path.removeprefix("/push/")
        topic = headers.get("Topic", "")
        browser = self.browsers.get(name)
        if browser is None:
            return 404, {}
        with self.lock:
            slow = self.slow_first > 0 and topic not in self._seen_slow
            self._seen_slow.add(topic)
            self.started.append(topic)
            self.in_flight.add(topic)
        if slow:
            time.sleep(self.slow_first)
        claims = self._claims(headers.get("Authorization", ""))
        try:
            payload: dict[str, Any] | None = browser.open(body)
        except Exception:  # what a browser does with a push it cannot open: drops it
            payload = None
        with self.lock:
            queued = self.answers.get(name)
            status, extra = queued.pop(0) if queued else (201, {})
            if claims is None:
                status, extra = 403, {}  # as a push service refuses a bad signature
            kept = dict(headers.items())
            self.pushes.append(Push(name, status, kept, claims, payload, body))
            self.in_flight.discard(topic)
        return status, extra

    def _claims(self, authorization: str) -> dict[str, Any] | None:
        """The VAPID claims if the header is a valid signature of the server's key for us."""
        scheme, _, rest = authorization.partition(" ")
        if scheme != "vapid":
            return None
        parts = dict(part.strip().split("=", 1) for part in rest.split(",") if "=" in part)
        if parts.get("k") != self.vapid_key or "t" not in parts:
            return None
        try:
            claims: dict[str, Any] = jwt.decode(parts["t"], parts["k"])
        except Exception:
            return None
        now = time.time()
        if claims.get("aud") != self.base:
            return None
        if not now < claims.get("exp", 0) <= now + 24 * 3600:
            return None
        if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
            return None
        return claims


@contextmanager
def push_service(ca: trustme.CA, vapid_key: str) -> Iterator[PushService]:
    """A push service on a free port of 127.0.0.1, reached as https://localhost:PORT."""
    service = PushService(vapid_key=vapid_key)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status, extra = service.receive(self.path, self.headers, body)
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name.replace("_", "-"), value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet tests

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a client that went away mid-answer (the crash test) is expected

    server = Server(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    service.base = f"https://localhost:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def trusting(ca: trustme.CA) -> ssl.SSLContext:
    """A client context that trusts the stand-in's certificate (and only its CA)."""
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context
