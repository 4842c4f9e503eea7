"""How `emstrack serve` runs uvicorn: its options, and a deadline for a request's headers.

Uvicorn waits for a request's headers without limit (its keep-alive timer runs only between
requests), so a client sending one byte a second holds a connection for ever, and a few hundred
such clients hold the server (slowloris). `HeaderDeadline` closes a connection whose request
headers have not all arrived `EMSTRACK_HEADER_TIMEOUT_SECONDS` after the connection opened or
the request began. Bodies are bounded in size (`BodyLimit`), not in time: in production a
reverse proxy in front buffers requests and bounds that too.
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from emstrack.config import Settings, get_settings


class HeaderDeadline(HttpToolsProtocol):
    """Uvicorn's httptools protocol, with a deadline on reading each request's headers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Read here, not handed in: uvicorn makes this class by its import path, in each worker.
        self._timeout = get_settings().header_timeout_seconds
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()  # the next request on a kept-alive connection

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def _arm(self) -> None:
        if self._deadline is None:
            self._deadline = self.loop.call_later(self._timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self.cycle is None or self.cycle.response_complete:
            self.transport.close()
        else:
            # A pipelined request trickling in behind one being answered: finish that answer,
            # then close.
            self.cycle.keep_alive = False


def run(host: str, port: int, workers: int, settings: Settings | None = None) -> None:
    """Serve the app with uvicorn until interrupted."""
    settings = settings or get_settings()
    uvicorn.run(
        "emstrack.web.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        http="emstrack.web.server:HeaderDeadline",
        timeout_keep_alive=settings.keep_alive_seconds,
        # The app reads X-Forwarded-* itself, from EMSTRACK_TRUSTED_PROXIES only
        # (emstrack.web.clients); uvicorn's own reading trusts any local process.
        proxy_headers=False,
    )
