"""Webhook receivers on loopback for the worker's tests: one that checks every signature, and
one that trickles its answer a byte at a time (a receiver that would hold a delivery forever)."""

from __future__ import annotations

import json
import socketserver
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from emstrack.notify.webhook import EVENT_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify


@dataclass(frozen=True)
class Hit:
    path: str
    event_id: str
    body: dict[str, Any]
    verified: bool


@dataclass
class Receiver:
    """What reached it; `secrets` maps a path to the secret its notices must be signed with."""

    base: str = ""
    secrets: dict[str, str] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)
    #: Answer the next this many requests with `fail_status`.
    fail: int = 0
    fail_status: int = 500
    #: Wait this long before answering the first request of each event id (a slow receiver).
    slow_first: float = 0.0
    #: Event ids of requests being answered now, and of every request begun, in order.
    in_flight: set[str] = field(default_factory=set)
    started: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _seen_slow: set[str] = field(default_factory=set)

    def url(self, path: str) -> str:
        return self.base + path

    def ids(self) -> Counter[str]:
        with self.lock:
            return Counter(hit.event_id for hit in self.hits)

    def bodies(self) -> list[dict[str, Any]]:
        with self.lock:
            return [hit.body for hit in self.hits]

    def answer(self, path: str, headers: Any, raw: bytes) -> int:
        event_id = headers.get(EVENT_ID_HEADER, "")
        with self.lock:
            if self.fail > 0:
                self.fail -= 1
                return self.fail_status
            slow = self.slow_first > 0 and event_id not in self._seen_slow
            self._seen_slow.add(event_id)
            self.started.append(event_id)
            self.in_flight.add(event_id)
        if slow:
            time.sleep(self.slow_first)
        verified = verify(
            self.secrets.get(path, ""),
            headers.get(TIMESTAMP_HEADER, ""),
            headers.get(SIGNATURE_HEADER, ""),
            raw,
            now=int(time.time()),
        )
        with self.lock:
            self.hits.append(Hit(path, event_id, json.loads(raw), verified))
            self.in_flight.discard(event_id)
        return 204 if verified else 401


@contextmanager
def receiving() -> Iterator[Receiver]:
    """A receiver listening on a free port of 127.0.0.1; stopped on exit."""
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = receiver.answer(self.path, self.headers, raw)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet tests

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a client that went away mid-answer (the crash test) is expected

    server = Server(("127.0.0.1", 0), Handler)
    receiver.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@dataclass
class Trickler:
    """Reads each request whole, then answers `204` one byte every `interval` seconds behind a
    header of `length` bytes: every read is quick, the answer as a whole is not."""

    interval: float
    length: int
    base: str = ""
    #: Requests read whole.
    requests: int = 0
    #: Set when a client hung up before the answer was complete, and when one was complete.
    hung_up: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return self.base + path

    def answer(self) -> bytes:
        padding = b"x" * self.length
        return b"HTTP/1.1 204 No Content\r\nX-Padding: " + padding + b"\r\n\r\n"


@contextmanager
def trickling(interval: float = 0.05, length: int = 400) -> Iterator[Trickler]:
    """A trickling receiver on a free port of 127.0.0.1 (by default 20 s per answer)."""
    trickler = Trickler(interval, length)

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            size = 0
            while line := self.rfile.readline(65537):
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    size = int(value)
            self.rfile.read(size)
            with trickler.lock:
                trickler.requests += 1
            try:
                for byte in trickler.answer():
                    if trickler.stop.wait(trickler.interval):
                        return  # the test is over
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
            except OSError:
                trickler.hung_up.set()
                return
            trickler.finished.set()

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

    server = Server(("127.0.0.1", 0), Handler)
    trickler.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield trickler
    finally:
        trickler.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(10)
