"""The public lookup's read on PostgreSQL without a thread: psycopg's async driver and pool.

On PostgreSQL a lookup through SQLAlchemy's pool costs a thread hand-off (the web answers it
with `run_in_threadpool`), a checkout and a statement parsed and planned every time. `AsyncReads`
reads the one row of the read model (`store.answers`) on the event loop instead:

- one `psycopg_pool.AsyncConnectionPool` for the primary and one per read replica, opened by the
  app's lifespan (`Database.open_async_reads`); connections in autocommit, no transaction;
- no liveness check on checkout (`check=None`): a statement that finds its connection dead
  (server restarted, backend ended, a proxy's idle timeout) has the pool check its idle ones
  (only then) and is tried once more; a database really down fails again, as
  `DatabaseUnavailable` (`store.errors.mapped`);
- the read is a prepared statement on each connection (`prepare=True`: parsed and planned once
  per connection);
- the replica is chosen as `Database.read(replica_ok=True)` chooses it (`store.replicas`: the
  same `Replicas`, its lag check run in a thread when due); a replica that fails is left out
  as there, and the read tried once more (on another replica or the primary).

Only valid numbers' reads come here; everything else (the "did you mean" checks of an invalid
number, the private answer's conflicts, writes) goes through `Database`'s units of work.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy import Engine

from emstrack.store.answers import AnswerRow, answer_of, read_sql
from emstrack.store.errors import database_error, mapped
from emstrack.store.replicas import Replica, Replicas

log = logging.getLogger(__name__)

_READ = read_sql("pyformat")


def conninfo(engine: Engine) -> str:
    """libpq's URL of `engine`'s database (SQLAlchemy's without its driver name)."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _pool(engine: Engine, *, name: str, max_size: int, timeout: float, **extra: Any) -> Any:
    return AsyncConnectionPool(
        conninfo(engine),
        kwargs={"autocommit": True, **extra},
        min_size=min(2, max_size),
        max_size=max_size,
        open=False,
        check=None,  # no round trip per checkout: a dead connection is found by its statement
        timeout=timeout,
        name=name,
    )


class AsyncReads:
    """The lookup's read of one number's answer row on PostgreSQL, async, pooled, prepared."""

    def __init__(
        self,
        primary: Engine,
        replicas: Replicas | None = None,
        *,
        max_size: int = 10,
        timeout: float = 5.0,
        replica_timeout: float = 2.0,
    ) -> None:
        self._replicas = replicas
        self._primary = _pool(primary, name="primary", max_size=max_size, timeout=timeout)
        self._on_replica: dict[int, Any] = {}
        for i, replica in enumerate(replicas.replicas if replicas is not None else ()):
            extra: dict[str, Any] = {}
            if "connect_timeout" not in replica.engine.url.query:
                extra["connect_timeout"] = 2
            self._on_replica[id(replica)] = _pool(
                replica.engine,
                name=f"replica{i}",
                max_size=max_size,
                timeout=replica_timeout,
                **extra,
            )

    async def open(self) -> None:
        """Open the pools (their first connections are made in the background)."""
        for pool in (self._primary, *self._on_replica.values()):
            await pool.open(wait=False)

    async def close(self) -> None:
        for pool in (self._primary, *self._on_replica.values()):
            await pool.close()

    async def answer_row(self, number: str, *, replica_ok: bool = False) -> AnswerRow | None:
        """`answers.answer_row` of `number`: on a usable replica where `replica_ok`, else on
        the primary; a dead connection or a failed replica tried once more."""
        with mapped():
            try:
                row = await self._read(number, replica_ok)
            except psycopg.Error as exc:
                if isinstance(exc, PoolTimeout) or database_error(exc) is None:
                    raise  # no connection in time (the server is down), or a bug
                row = await self._read(number, replica_ok)
        return None if row is None else answer_of(row)

    async def _read(self, number: str, replica_ok: bool) -> Any:
        replica = await self._pick() if replica_ok else None
        pool = self._primary if replica is None else self._on_replica[id(replica)]
        try:
            async with pool.connection() as conn:
                cursor = await conn.execute(_READ, (number,), prepare=True)
                return await cursor.fetchone()
        except psycopg.Error as exc:
            if database_error(exc) is None:
                raise
            if replica is not None and self._replicas is not None:
                self._replicas.failed(replica, exc)
            elif not isinstance(exc, PoolTimeout):
                # A dead connection (the pool drops it as it comes back): its idle peers are
                # likely dead too (a restart). Checked now, and only now.
                await pool.check()
            raise

    async def _pick(self) -> Replica | None:
        replicas = self._replicas
        if replicas is None:
            return None
        if replicas.check_due():
            # The lag check is a few blocking queries, once per check interval.
            return await asyncio.to_thread(replicas.pick)
        return replicas.pick()
