"""A real HTTP server for the web tests: uvicorn in a thread, on a free loopback port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn
from fastapi import FastAPI


@contextmanager
def serve_url(app: FastAPI) -> Iterator[str]:
    """The base URL of `app` served by uvicorn on a free loopback port; stopped on exit."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@contextmanager
def serve(app: FastAPI) -> Iterator[httpx.Client]:
    """An HTTP client talking to `app` served by uvicorn on loopback; stopped on exit."""
    with serve_url(app) as base_url, httpx.Client(base_url=base_url, timeout=10) as http:
        yield http
