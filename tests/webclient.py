"""A real HTTP server for the web tests: uvicorn in a thread, on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

import httpx
import uvicorn
from fastapi import FastAPI


@contextmanager
def serve_url(app: FastAPI, *, port: int = 0, **options: Any) -> Iterator[str]:
    """The base URL of `app` served by uvicorn on a free loopback port (or on `port`, as a
    server started again at the same address); stopped on exit.

    `options` go to `uvicorn.Config` (uvicorn's defaults otherwise, as when run by hand).
    """
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    scheme = "https" if options.get("ssl_certfile") else "http"
    try:
        yield f"{scheme}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@contextmanager
def serve(app: FastAPI) -> Iterator[httpx.Client]:
    """An HTTP client talking to `app` served by uvicorn on loopback; stopped on exit."""
    with serve_url(app) as base_url, httpx.Client(base_url=base_url, timeout=10) as http:
        yield http


class ServeApp(Protocol):
    """The `serve_app` fixture of tests/web: the app on the test database, its settings changed
    by `changes`, and a client to it (a browser's, asking for HTML pages, when `html`)."""

    def __call__(
        self, *, html: bool = False, **changes: Any
    ) -> AbstractContextManager[httpx.Client]: ...


@contextmanager
def emstrack_serve(env: Mapping[str, str]) -> Iterator[str]:
    """`emstrack serve` in a subprocess on a free loopback port, its settings from `env`.

    Yields the base URL once the server answers; the process is stopped on exit.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-c", "from emstrack.cli import main; main()", "serve"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EMSTRACK_")}
    base = f"http://127.0.0.1:{port}"
    with (
        tempfile.TemporaryFile() as output,
        subprocess.Popen(command, env={**clean, **env}, stdout=output, stderr=output) as process,
    ):
        try:
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None or time.monotonic() > deadline:
                    output.seek(0)
                    raise RuntimeError(f"emstrack serve did not start:\n{output.read().decode()}")
                try:
                    httpx.get(f"{base}/healthz", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def same_origin(client: httpx.Client) -> dict[str, str]:
    """The headers a browser sends with a form POST from a page of `client`'s site (its Fetch
    Metadata and `Origin`), which the pages' forms require of a browser (`emstrack.web.csrf`)."""
    base = client.base_url
    return {"Origin": f"{base.scheme}://{base.netloc.decode()}", "Sec-Fetch-Site": "same-origin"}


def asgi_scope(
    path: str, query: str = "", accept: str = "application/json", **extra: Any
) -> dict[str, Any]:
    """The ASGI scope of a plain `GET path?query` from a loopback client; `extra` replaces its
    keys (`headers` are added to the host and accept headers)."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"test"), (b"accept", accept.encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("test", 80),
    }
    if "headers" in extra:
        extra = {**extra, "headers": scope["headers"] + list(extra["headers"])}
    scope.update(extra)
    return scope


async def asgi_call(app: Any, scope: dict[str, Any]) -> int:
    """Call `app` with `scope` as a server would, without a body; the response's status."""
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status
