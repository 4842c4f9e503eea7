"""The public lookup's read on PostgreSQL without a thread: psycopg's async driver and pool.

On PostgreSQL a lookup through SQLAlchemy's pool costs a thread hand-off (the web answers it
with `run_in_threadpool`), a checkout and a statement parsed and planned every time. `AsyncReads`
reads the one row of the read model (`store.answers`) on the event loop instead:

- one `psycopg_pool.AsyncConnectionPool` for the primary and one per read replica, opened by the
  app's lifespan (`Database.open_async_reads`); connections in autocommit, no transaction;
- no liveness check on checkout (`check=None`): a statement that finds its connection dead
  (server restarted, backend ended, a proxy's idle timeout) has the pool check its idle ones
  (only then) and is tried once more;
- a pool that gives no connection in time (the server down, or back while the pool still backs
  off its reconnection attempts) is replaced by a new one, and the read stands aside for a
  moment (`AsyncUnavailable`, `usable`): the lookup then reads through `Database`'s units of
  work, which answer as soon as the server is back, or say it is down (`DatabaseUnavailable`);
  the new pool's first read waits at most `PROBE_TIMEOUT`;
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
import time
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy import Engine

from emstrack.store.answers import WANTS, AnswerRow, answer_of, read_sql
from emstrack.store.errors import database_error, mapped
from emstrack.store.replicas import Replica, Replicas

log = logging.getLogger(__name__)

_READ = {want: read_sql("pyformat", want) for want in WANTS}


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


class AsyncUnavailable(Exception):
    """The async read could not be made (no connection in time, the server gone): the caller
    reads through `Database`'s units of work instead, which answer or say the database is
    down (`DatabaseUnavailable`) on their own."""


#: After its pool failed, the async read stands aside this long (the units of work answer).
STAND_ASIDE_SECONDS = 2.0
#: How long a renewed pool, not yet proven, is waited for: a server still down fails fast.
PROBE_TIMEOUT = 0.5


class _Pool:
    """One server's pool, renewed when it fails: psycopg_pool backs off its reconnection
    attempts (1 s, 2 s, 4 s … for minutes) while a server is down, and would go on waiting for
    them after the server is back; a new pool connects at once."""

    def __init__(
        self, engine: Engine, *, name: str, max_size: int, timeout: float, **extra: Any
    ) -> None:
        self._args: dict[str, Any] = {"name": name, "max_size": max_size, "timeout": timeout}
        self._engine, self._extra = engine, extra
        self.pool = self._make()
        self.timeout = timeout
        self.proven = True  # the first pool is opened with the app, before any request
        self.aside_until = 0.0

    def _make(self) -> Any:
        return _pool(self._engine, **self._args, **self._extra)

    @property
    def usable(self) -> bool:
        return time.monotonic() >= self.aside_until

    def wait(self) -> float:
        return self.timeout if self.proven else min(self.timeout, PROBE_TIMEOUT)

    async def renew(self) -> None:
        """Stand aside for a while, and start a new pool in place of this one."""
        self.aside_until = time.monotonic() + STAND_ASIDE_SECONDS
        old, self.pool, self.proven = self.pool, self._make(), False
        await self.pool.open(wait=False)
        # Its connections are dead or never came: closed without waiting for anything.
        task = asyncio.get_running_loop().create_task(old.close(timeout=0))
        _CLOSING.add(task)
        task.add_done_callback(_CLOSING.discard)


# The old pools being closed in the background (kept so that the tasks are not collected).
_CLOSING: set[asyncio.Task[None]] = set()


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
        self._primary = _Pool(primary, name="primary", max_size=max_size, timeout=timeout)
        self._on_replica: dict[int, _Pool] = {}
        for i, replica in enumerate(replicas.replicas if replicas is not None else ()):
            extra: dict[str, Any] = {}
            if "connect_timeout" not in replica.engine.url.query:
                extra["connect_timeout"] = 2
            self._on_replica[id(replica)] = _Pool(
                replica.engine,
                name=f"replica{i}",
                max_size=max_size,
                timeout=replica_timeout,
                **extra,
            )

    async def open(self) -> None:
        """Open the pools (their first connections are made in the background)."""
        for pool in (self._primary, *self._on_replica.values()):
            await pool.pool.open(wait=False)

    async def close(self) -> None:
        for pool in (self._primary, *self._on_replica.values()):
            await pool.pool.close()

    @property
    def usable(self) -> bool:
        """False for a moment after the primary's pool failed: read through the units of work."""
        return self._primary.usable

    async def answer_row(
        self, number: str, *, replica_ok: bool = False, want: str = "rows"
    ) -> AnswerRow | None:
        """`answers.answer_row` of `number`: on a usable replica where `replica_ok`, else on
        the primary; a dead connection or a failed replica tried once more. When no connection
        comes (the server down, or back but the pool not yet), `AsyncUnavailable`."""
        with mapped():
            try:
                try:
                    row = await self._read(number, replica_ok, want)
                except psycopg.Error as exc:
                    if isinstance(exc, PoolTimeout) or database_error(exc) is None:
                        raise  # no connection in time (the server is down), or a bug
                    row = await self._read(number, replica_ok, want)
            except psycopg.Error as exc:
                if database_error(exc) is None and not isinstance(exc, PoolTimeout):
                    raise
                raise AsyncUnavailable(str(exc)) from exc
        return None if row is None else answer_of(row, want)

    async def _read(self, number: str, replica_ok: bool, want: str) -> Any:
        replica = await self._pick() if replica_ok else None
        which = self._primary if replica is None else self._on_replica[id(replica)]
        try:
            async with which.pool.connection(timeout=which.wait()) as conn:
                cursor = await conn.execute(_READ[want], (number,), prepare=True)
                row = await cursor.fetchone()
        except psycopg.Error as exc:
            if database_error(exc) is None and not isinstance(exc, PoolTimeout):
                raise
            if replica is not None and self._replicas is not None:
                self._replicas.failed(replica, exc)
            if isinstance(exc, PoolTimeout):
                # No connection came in time: the server is down, or its pool is backing off.
                await which.renew()
            else:
                # A dead connection (the pool drops it as it comes back): its idle peers are
                # likely dead too (a restart). Checked now, and only now.
                await which.pool.check()
            raise
        which.proven = True
        return row

    async def _pick(self) -> Replica | None:
        replicas = self._replicas
        if replicas is None:
            return None
        if replicas.check_due():
            # The lag check is a few blocking queries, once per check interval.
            return await asyncio.to_thread(replicas.pick)
        return replicas.pick()
