"""The app under test, served by uvicorn on loopback, on the test database.

`client` talks to it with the test settings. A test file whose server differs overrides
`client` and says only how, with `serve_app`:

    @pytest.fixture
    def client(serve_app: ServeApp) -> Iterator[httpx.Client]:
        with serve_app(rate_limit="3/minute", html=True) as http:
            yield http

`html=True` makes the client a browser's (it asks for HTML pages); the other keywords change
the settings.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import redis
from factories import REDIS_URL
from webclient import ServeApp, serve

from emstrack.config import Settings
from emstrack.store.database import Database
from emstrack.web.app import create_app


@pytest.fixture
def serve_app(db: Database, settings: Settings) -> ServeApp:
    """Serve the app with the test settings changed by `changes`; a client to it."""

    @contextmanager
    def start(*, html: bool = False, **changes: Any) -> Iterator[httpx.Client]:
        with serve(create_app(settings.model_copy(update=changes), db)) as http:
            if html:
                http.headers["Accept"] = "text/html"
            yield http

    return start


@pytest.fixture
def client(serve_app: ServeApp) -> Iterator[httpx.Client]:
    """A client of the app with the test settings, asking for JSON."""
    with serve_app() as http:
        yield http


@pytest.fixture
def redis_namespace() -> Iterator[str]:
    """A key prefix of its own on the local Redis, cleaned up after; skips without a server."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.skip(f"no Redis server at {REDIS_URL}: {exc}")
    namespace = f"emstrack-test-{uuid.uuid4().hex}"
    yield namespace
    for key in client.scan_iter(f"*{namespace}*"):
        client.delete(key)
    client.close()
