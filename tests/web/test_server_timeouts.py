"""`emstrack serve` closes connections that trickle their headers in (slowloris) and idle ones.

Against the real command on loopback. No timing is asserted: a slow client sends its headers a
byte a second, for longer than the server allows, and the server must close before it is done.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from webclient import emstrack_serve

pytestmark = pytest.mark.slow

#: Bytes the slow client would send, one a second: far more seconds than the deadline.
TRICKLE = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 40


@pytest.fixture(scope="module")
def address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    database = Path(tmp_path_factory.mktemp("serve")) / "emstrack.db"
    env = {
        "EMSTRACK_DATABASE_URL": f"sqlite:///{database}",
        "EMSTRACK_HEADER_TIMEOUT_SECONDS": "1",
        "EMSTRACK_KEEP_ALIVE_SECONDS": "5",
    }
    with emstrack_serve(env) as base:
        host, port = base.removeprefix("http://").split(":")
        yield host, int(port)


def _closed_within(sock: socket.socket, waits: int) -> bool:
    """Whether the server closes `sock` within `waits` reads of up to a second each."""
    sock.settimeout(1)
    for _ in range(waits):
        try:
            if sock.recv(4096) == b"":
                return True
        except TimeoutError:
            continue
        except ConnectionResetError:
            return True
    return False


def test_a_slowloris_client_is_cut_off(address: tuple[str, int]) -> None:
    with socket.create_connection(address) as sock:
        sock.settimeout(1)
        sent = 0
        closed = False
        for byte in TRICKLE:
            try:
                sock.sendall(bytes([byte]))
                sent += 1
                if sock.recv(4096) == b"":  # waits up to a second: one byte a second
                    closed = True
                    break
            except TimeoutError:
                continue
            except (ConnectionResetError, BrokenPipeError):
                closed = True
                break
    assert closed, "the server waited for every byte"
    assert sent < len(TRICKLE)


def _get(sock: socket.socket) -> bytes:
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    sock.settimeout(10)
    answer = b""
    while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
        chunk = sock.recv(4096)
        assert chunk, answer
        answer += chunk
    return answer


def test_a_kept_alive_connection_serves_and_then_closes(address: tuple[str, int]) -> None:
    with socket.create_connection(address) as sock:
        assert _get(sock).startswith(b"HTTP/1.1 200")
        # Idle for longer than the header deadline, shorter than keep-alive: the deadline runs
        # from a request's first byte, not from the last answer.
        time.sleep(2.5)
        assert _get(sock).startswith(b"HTTP/1.1 200")
        assert _closed_within(sock, 20)
