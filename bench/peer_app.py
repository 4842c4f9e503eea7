"""The hand-written peer of the lookup: FastAPI reading an item and its events by number.

What a developer would write in ten minutes on the same database, without emstrack: one route,
`GET /peer/{number}`, that reads the item's rows and the events of its newest generation (the
same columns the store's lookup selects) and returns them as JSON (`orjson`), or 404. No
validation of the number, no status derivation, no privacy, no rate limit, no middleware.

- SQLite: the standard `sqlite3` module, one connection per process, queried from an
  `async def` route (each read takes well under a millisecond, so the event loop is not worth
  leaving for a thread).
- PostgreSQL: `asyncpg`, a pool opened at start-up; asyncpg prepares and caches the statements.

`EMSTRACK_PEER_DATABASE` names the database: a SQLite file path, or a `postgresql://` URL.

    EMSTRACK_PEER_DATABASE=postgresql://127.0.0.1/emstrack_bench PYTHONPATH=. \\
        python -m uvicorn bench.peer_app:create --factory --port 8002
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
from fastapi import FastAPI, Response

from emstrack.store.events import EVENT_FIELDS
from emstrack.store.items import ITEM_FIELDS

#: Connections of the asyncpg pool, per process.
POOL_SIZE = 10

_ITEMS = f"SELECT {', '.join(ITEM_FIELDS)} FROM items WHERE number = {{}} ORDER BY generation"
_EVENTS = (
    f"SELECT {', '.join(EVENT_FIELDS)} FROM events WHERE number = {{}} AND generation = {{}}"
    " ORDER BY occurred_local DESC"
)


def _json(item: dict[str, Any], events: list[dict[str, Any]]) -> Response:
    body = orjson.dumps({"item": item, "events": events})
    return Response(body, media_type="application/json")


def _not_found() -> Response:
    return Response(b'{"error":"not_found"}', status_code=404, media_type="application/json")


def _sqlite_app(path: str) -> FastAPI:
    app = FastAPI()
    conn = sqlite3.connect(path, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    items_sql, events_sql = _ITEMS.format("?"), _EVENTS.format("?", "?")

    @app.get("/peer/{number}")
    async def peer(number: str) -> Response:
        items = conn.execute(items_sql, (number,)).fetchall()
        if not items:
            return _not_found()
        item = dict(items[-1])
        rows = conn.execute(events_sql, (number, item["generation"])).fetchall()
        return _json(item, [dict(row) for row in rows])

    return app


def _postgres_app(url: str) -> FastAPI:
    pool: list[asyncpg.Pool] = []

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        pool.append(await asyncpg.create_pool(url, min_size=POOL_SIZE, max_size=POOL_SIZE))
        yield
        await pool[0].close()

    app = FastAPI(lifespan=lifespan)
    items_sql, events_sql = _ITEMS.format("$1"), _EVENTS.format("$1", "$2")

    @app.get("/peer/{number}")
    async def peer(number: str) -> Response:
        async with pool[0].acquire() as conn:
            items = await conn.fetch(items_sql, number)
            if not items:
                return _not_found()
            item = dict(items[-1])
            rows = await conn.fetch(events_sql, number, item["generation"])
        return _json(item, [dict(row) for row in rows])

    return app


def create() -> FastAPI:
    """The peer app for the database named by `EMSTRACK_PEER_DATABASE`."""
    target = os.environ["EMSTRACK_PEER_DATABASE"]
    if target.startswith(("postgresql://", "postgres://")):
        app = _postgres_app(target)
    else:
        app = _sqlite_app(target)

    @app.get("/healthz")
    async def healthz() -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    return app
