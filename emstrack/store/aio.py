"""The public lookup's read on PostgreSQL without a thread: asyncpg and a pool of our own.

On PostgreSQL a lookup through SQLAlchemy's pool costs a thread hand-off (the web answers it
with `run_in_threadpool`), a checkout and a statement parsed and planned every time. `AsyncReads`
reads the one row of the read model (`store.answers`) on the event loop instead, with asyncpg
(its protocol is compiled: a read costs about 40 µs of the process's CPU, against 140–160 µs
through psycopg's async driver and pool, and 100–120 µs through asyncpg's own pool, which resets
each connection with a round trip when it is given back; `bench/http_load.py` measures the
difference):

- one `_Pool` for the primary and one per read replica, opened by the app's lifespan
  (`Database.open_async_reads`): at most `max_size` connections, made when wanted (two in the
  background at start), given out last-in first-out; no transaction (each statement commits by
  itself) and nothing a connection could carry from one read to the next, so a connection goes
  back as it is, with no reset, and is handed out with no round trip to check it (only asyncpg's
  own flag of a connection it knows closed is looked at);
- a statement that finds its connection dead (server restarted, backend ended, a proxy's idle
  timeout) drops it and the pool's idle ones (likely dead too: a restart) and is tried once
  more on a new connection;
- a connection that cannot be made, or none free in time (the server down or overloaded), has
  the read stand aside for a moment (`AsyncUnavailable`, `usable`): the lookup then reads
  through `Database`'s units of work, which answer as soon as the server is back, or say it is
  down (`DatabaseUnavailable`); the first read after that waits at most `PROBE_TIMEOUT`;
- the read is a prepared statement on each connection (parsed and planned once per connection
  and `want`);
- the replica is chosen as `Database.read(replica_ok=True)` chooses it (`store.replicas`: the
  same `Replicas`, its lag check run in a thread when due); a replica that fails is left out
  as there, and the read tried once more (on another replica or the primary).

Behind PgBouncer, use session pooling: prepared statements live on the server's connection.
Only valid numbers' reads come here; everything else (the "did you mean" checks of an invalid
number, the private answer's conflicts, writes) goes through `Database`'s units of work.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

import asyncpg
from sqlalchemy import Engine

from emstrack.store.answers import WANTS, AnswerRow, answer_of, read_sql
from emstrack.store.errors import database_error
from emstrack.store.replicas import Replica, Replicas

log = logging.getLogger(__name__)

_READ = {want: read_sql("pyformat", want).replace("%s", "$1") for want in WANTS}
#: What a failed connection attempt raises: refused or unreachable, timed out, the server
#: refusing (starting up, shutting down, too many clients, authentication), a URL it rejects.
_CONNECT_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError)


def conninfo(engine: Engine) -> tuple[str, float | None]:
    """libpq's URL of `engine`'s database (SQLAlchemy's without its driver name), and its
    `connect_timeout` (asyncpg takes it as an argument: in the URL it would be sent to the
    server as a setting)."""
    url = engine.url.set(drivername="postgresql")
    query = dict(url.query)
    timeout = query.pop("connect_timeout", None)
    url = url.set(query=query)
    seconds = float(timeout if isinstance(timeout, str) else timeout[0]) if timeout else None
    return url.render_as_string(hide_password=False), seconds


class AsyncUnavailable(Exception):
    """The async read could not be made (no connection in time, the server gone): the caller
    reads through `Database`'s units of work instead, which answer or say the database is
    down (`DatabaseUnavailable`) on their own."""


class _NoConnection(Exception):
    """No connection could be had in time from a pool."""


#: After its pool failed, the async read stands aside this long (the units of work answer).
STAND_ASIDE_SECONDS = 2.0
#: How long a pool that failed, not yet proven again, is waited for: a server still down
#: fails fast.
PROBE_TIMEOUT = 0.5


class _Connection:
    """An asyncpg connection and the statements prepared on it, by `want`."""

    __slots__ = ("conn", "statements")

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.statements: dict[str, Any] = {}

    async def read(self, want: str, number: str) -> Any:
        statement = self.statements.get(want)
        if statement is None:
            # Named: asyncpg without its statement cache would use the unnamed statement,
            # which the next different statement on the connection replaces.
            prepared = self.conn.prepare(_READ[want], name=f"emstrack_read_{want}")
            statement = self.statements[want] = await prepared
        return await statement.fetchrow(number)


class _Pool:
    """One server's connections for the lookup's read (see the module's text)."""

    def __init__(
        self, engine: Engine, *, name: str, max_size: int, timeout: float, connect_timeout: float
    ) -> None:
        self.name = name
        self.dsn, url_timeout = conninfo(engine)
        self.connect_timeout = url_timeout or connect_timeout
        self.max_size = max_size
        self.timeout = timeout
        self.proven = True  # the first pool is opened with the app, before any request
        self.aside_until = 0.0
        #: Statements run (the tests count the reads that came here).
        self.reads = 0
        self._free: list[_Connection] = []
        self._waiting: deque[asyncio.Future[_Connection | None]] = deque()
        self._size = 0  # connections open or being opened
        self._closed = False
        self._background: set[asyncio.Task[None]] = set()

    @property
    def usable(self) -> bool:
        return time.monotonic() >= self.aside_until

    def wait(self) -> float:
        return self.timeout if self.proven else min(self.timeout, PROBE_TIMEOUT)

    def open(self, connections: int = 2) -> None:
        """Start making `connections` (at most `max_size`) in the background."""
        for _ in range(min(connections, self.max_size)):
            self._size += 1
            task = asyncio.get_running_loop().create_task(self._warm())
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _warm(self) -> None:
        try:
            made = await self._connect(self.connect_timeout)
        except _CONNECT_ERRORS as exc:
            self._size -= 1
            self._wake()
            log.warning("The %s lookup pool could not connect: %s", self.name, type(exc).__name__)
            return
        self.put(made)

    async def _connect(self, timeout: float) -> _Connection:
        conn = await asyncpg.connect(self.dsn, timeout=timeout, statement_cache_size=0)
        if self._closed:
            await conn.close()
            raise ConnectionError("the pool was closed")
        return _Connection(conn)

    async def get(self) -> _Connection:
        """A connection: an idle one, a new one while under `max_size`, else the next one
        given back; `_NoConnection` when none comes in time."""
        deadline = time.monotonic() + self.wait()
        while True:
            while self._free:
                connection = self._free.pop()
                if not connection.conn.is_closed():
                    return connection
                self.drop(connection)  # ended while idle (the backend killed, a restart)
            left = deadline - time.monotonic()
            if left <= 0:
                raise _NoConnection(f"no connection of the {self.name} pool in time")
            if self._size < self.max_size:
                self._size += 1
                try:
                    return await self._connect(min(left, self.connect_timeout))
                except BaseException as exc:
                    self._size -= 1
                    self._wake()
                    if isinstance(exc, _CONNECT_ERRORS):
                        raise _NoConnection(f"the {self.name} pool could not connect") from exc
                    raise
            waiter: asyncio.Future[_Connection | None] = asyncio.get_running_loop().create_future()
            self._waiting.append(waiter)
            try:
                given = await asyncio.wait_for(waiter, left)
            except TimeoutError:
                if self._handed(waiter) is not None:
                    return waiter.result()  # type: ignore[return-value]
                raise _NoConnection(f"no connection of the {self.name} pool in time") from None
            except asyncio.CancelledError:
                # Cancelled (the request went away) just as a connection came: pass it on.
                if (handed := self._handed(waiter)) is not None:
                    self.put(handed)
                raise
            if given is not None:
                return given
            # A connection was dropped: its place is free, the loop makes a new one.

    def _handed(self, waiter: asyncio.Future[_Connection | None]) -> _Connection | None:
        """What was handed to a waiter that stopped waiting: a connection, or None; a free
        place handed to it (None) goes on to the next waiter."""
        if not waiter.done() or waiter.cancelled():
            return None
        handed = waiter.result()
        if handed is None:
            self._wake()
        return handed

    def put(self, connection: _Connection) -> None:
        """Give `connection` back, as it is."""
        if self._closed:
            self._size -= 1
            connection.conn.terminate()
            return
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        self._free.append(connection)

    def drop(self, connection: _Connection) -> None:
        """Close `connection` at once (dead, or in a state unknown), freeing its place."""
        connection.conn.terminate()
        self._size -= 1
        self._wake()

    def drop_idle(self) -> None:
        """Close the idle connections (after one was found dead: a restart kills them all)."""
        idle, self._free = self._free, []
        for connection in idle:
            self.drop(connection)

    def _wake(self) -> None:
        """A place came free: the first waiter makes a connection of its own."""
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def stand_aside(self) -> None:
        """The pool failed: the units of work answer for a while, then one quick try."""
        self.aside_until = time.monotonic() + STAND_ASIDE_SECONDS
        self.proven = False
        self.drop_idle()

    async def close(self) -> None:
        self._closed = True
        for task in list(self._background):
            task.cancel()
        idle, self._free = self._free, []
        for connection in idle:
            self._size -= 1
            try:
                await asyncio.wait_for(connection.conn.close(), 1.0)
            except (*_CONNECT_ERRORS, asyncio.CancelledError):
                connection.conn.terminate()
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.cancel()


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
        self._primary = _Pool(
            primary, name="primary", max_size=max_size, timeout=timeout, connect_timeout=timeout
        )
        self._on_replica: dict[int, _Pool] = {}
        for i, replica in enumerate(replicas.replicas if replicas is not None else ()):
            self._on_replica[id(replica)] = _Pool(
                replica.engine,
                name=f"replica{i}",
                max_size=max_size,
                timeout=replica_timeout,
                connect_timeout=2.0,
            )

    async def open(self) -> None:
        """Open the pools (their first connections are made in the background)."""
        for pool in (self._primary, *self._on_replica.values()):
            pool.open()

    async def close(self) -> None:
        for pool in (self._primary, *self._on_replica.values()):
            await pool.close()

    @property
    def usable(self) -> bool:
        """False for a moment after the primary's pool failed: read through the units of work."""
        return self._primary.usable

    async def answer_row(
        self, number: str, *, replica_ok: bool = False, want: str = "rows"
    ) -> AnswerRow | None:
        """`answers.answer_row` of `number`: on a usable replica where `replica_ok`, else on
        the primary; a dead connection or a failed replica tried once more. When no connection
        comes (the server down, or too busy), `AsyncUnavailable`."""
        (row,) = await self.answer_rows((number,), replica_ok=replica_ok, want=want)
        return row

    async def answer_rows(
        self, numbers: Sequence[str], *, replica_ok: bool = False, want: str = "rows"
    ) -> list[AnswerRow | None]:
        """`answer_row` of each of `numbers`, in order, read one after the other on one
        connection (a batch's numbers: one checkout, one prepared statement)."""
        try:
            try:
                rows = await self._read(numbers, replica_ok, want)
            except _Dead:
                rows = await self._read(numbers, replica_ok, want)
        except (_Dead, _NoConnection) as exc:
            raise AsyncUnavailable(str(exc.__cause__ or exc)) from exc
        return [None if row is None else answer_of(row, want) for row in rows]

    async def _read(self, numbers: Sequence[str], replica_ok: bool, want: str) -> list[Any]:
        replica = await self._pick() if replica_ok else None
        which = self._primary if replica is None else self._on_replica[id(replica)]
        try:
            connection = await which.get()
        except _NoConnection as exc:
            self._failed(replica, exc)
            which.stand_aside()
            raise
        try:
            rows = [await connection.read(want, number) for number in numbers]
        except BaseException as exc:
            which.drop(connection)  # its state is unknown (a cancelled read, a lost server)
            if database_error(exc) is None and not isinstance(exc, asyncpg.InternalClientError):
                raise  # a bug, or the request cancelled
            self._failed(replica, exc)
            which.drop_idle()  # the idle ones are likely dead too (a restart)
            raise _Dead(type(exc).__name__) from exc
        which.put(connection)
        which.reads += 1
        which.proven = True
        return rows

    def _failed(self, replica: Replica | None, exc: BaseException) -> None:
        if replica is not None and self._replicas is not None:
            self._replicas.failed(replica, exc)

    async def _pick(self) -> Replica | None:
        replicas = self._replicas
        if replicas is None:
            return None
        if replicas.check_due():
            # The lag check is a few blocking queries, once per check interval.
            return await asyncio.to_thread(replicas.pick)
        return replicas.pick()


class _Dead(Exception):
    """A read's connection was found dead (the server restarted, the backend ended; asyncpg's
    `InternalClientError` when the end arrived while it was idle)."""
