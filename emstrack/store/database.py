"""The one door to the database: read and write units of work, driver errors mapped.

Services (lookup, ingest, notify, channels, scamcheck, keys) take a `Database` and call the
store's functions inside its units of work; they never see an engine, a pool or a driver error.

    db = Database.open(settings)
    with db.read() as unit:          # a connection, no transaction held open
        found = items.items_for(unit, numbers)
    with db.write() as unit:         # one transaction; SQLite takes its write lock at BEGIN
        events.write_changes(unit, ...)

Every error of SQLAlchemy or of the driver (`sqlite3`, `psycopg`) that means the database cannot
serve us now leaves a unit of work as `emstrack.errors.DatabaseUnavailable` (see
`emstrack.store.errors`); any other is a bug and propagates as it is.

On a SQLite file, the lookup's hot path reads through `raw_reader()`: each thread keeps one
driver connection, detached from the pool, so a lookup pays no checkout (a third of its cost).

Read replicas (PostgreSQL hot standbys, `EMSTRACK_DATABASE_REPLICA_URLS`): `read()` and
`raw_reader()` go to the primary unless asked `replica_ok=True`, which only the public lookups
ask (`lookup.Tracker.reading`). Then a standby within `EMSTRACK_DATABASE_REPLICA_MAX_LAG`
answers (`store.replicas`); with none, or when connecting to it fails, the primary does. A
standby that fails in the middle of a read is left out and the read raises
`DatabaseUnavailable` like any other. `written_by(writer)` is the same database noting, when
each of its write units commits, that `writer` wrote; `wrote_lately(writer)` then tells for
`max_lag` plus one check interval that its reads must go to the primary (read-your-writes).
Writes always go to the primary.
"""

from __future__ import annotations

import asyncio
import copy
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any, TypeAlias

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import Pool

from emstrack.config import Settings
from emstrack.errors import DatabaseError
from emstrack.store.aio import AsyncReads
from emstrack.store.answers import Render
from emstrack.store.engine import WRITE, ensure_schema, make_engine
from emstrack.store.errors import DRIVER_ERRORS, database_error, mapped
from emstrack.store.replicas import RecentWrites, Replica, Replicas

#: What a unit of work hands to the store's functions. Services may name the type, never use
#: it themselves.
Unit: TypeAlias = Connection


class _Readers(threading.local):
    """Each thread's own driver connection to a SQLite file (see `Database.raw_reader`)."""

    def __init__(self) -> None:
        self.pool: Pool | None = None  # the engine's pool it came from
        self.driver: Any = None  # the driver's connection (sqlite3)


class Database:
    """One database, its engine and its units of work."""

    def __init__(
        self,
        engine: Engine,
        *,
        owns_engine: bool = False,
        replicas: Replicas | None = None,
        recent_writes: RecentWrites | None = None,
    ) -> None:
        self._engine = engine
        self._owns_engine = owns_engine
        self._replicas = replicas
        self._recent = recent_writes
        #: Who writes through this object (`written_by`), noted as each write commits.
        self._writer: str | None = None
        self.dialect: str = engine.dialect.name
        #: SQLite: reads are in-process and never wait on a writer (WAL).
        self.local_reads = self.dialect == "sqlite"
        self.paramstyle: str = engine.dialect.paramstyle
        database = engine.url.database or ""
        in_memory = database in ("", ":memory:") or "mode=memory" in str(engine.url)
        # Not for an in-memory database, which is a different database on every connection.
        self._readers = _Readers() if self.local_reads and not in_memory else None
        #: PostgreSQL: the public lookup's async reads of each event loop an app runs on
        #: (`open_async_reads`; asyncpg's connections belong to the loop that made them), with
        #: how many apps use each; under None, reads set by hand for any loop (tests).
        self._async_reads: dict[asyncio.AbstractEventLoop | None, tuple[AsyncReads, int]] = {}
        #: Makes the public answers the writers keep in the read model (`store.answers`); set by
        #: the lookup (`lookup.bodies.install`), None: the rows alone are kept.
        self.render_answers: Render | None = None
        #: The writers mark each row they write as due for its kept item pages (`store.pages`,
        #: made by the page keeper); set by `lookup.bodies.install` from the settings
        #: (`keep_item_pages=all`).
        self.pages_due = False

    @classmethod
    def open(cls, settings: Settings, *, migrate: bool | None = None) -> Database:
        """The database of `settings`, its schema checked (and brought up to date on SQLite
        when `auto_migrate` allows)."""
        engine = make_engine(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
        try:
            replicas = replicas_of(engine, settings)
        except BaseException:
            engine.dispose()
            raise
        recent = None
        if replicas is not None:
            window = settings.database_replica_max_lag + settings.database_replica_check_seconds
            recent = RecentWrites(window, settings.redis_url)
        db = cls(engine, owns_engine=True, replicas=replicas, recent_writes=recent)
        try:
            db.ensure_schema(settings.auto_migrate if migrate is None else migrate)
        except BaseException:
            db.close()
            raise
        return db

    @property
    def engine(self) -> Engine:
        """For the store and the schema tools (Alembic) only."""
        return self._engine

    @property
    def url(self) -> str:
        return self._engine.url.render_as_string(hide_password=True)

    def ensure_schema(self, auto_migrate: bool = True) -> None:
        with mapped():
            ensure_schema(self._engine, auto_migrate=auto_migrate)

    @property
    def has_replicas(self) -> bool:
        """Read replicas are configured (`replica_ok` may send a read elsewhere)."""
        return self._replicas is not None

    @property
    def replicas(self) -> Replicas | None:
        """The standbys and their state, for health reports and tests."""
        return self._replicas

    def written_by(self, writer: str) -> Database:
        """This database (the same engines, replicas and memory of writes), noting at each
        commit of its `write()` units that `writer` wrote. Without replicas, itself."""
        if self._recent is None:
            return self
        view = copy.copy(self)
        view._writer = writer
        view._owns_engine = False
        return view

    def wrote_lately(self, writer: str) -> bool:
        """`writer` wrote recently enough that a replica might not have it yet."""
        return self._recent is not None and self._recent.lately(writer)

    @contextmanager
    def read(self, *, replica_ok: bool = False) -> Iterator[Unit]:
        """A connection for reads; each statement sees what was committed before it (on a
        replica, `replica_ok`: what it had replayed, at most `max_lag` behind)."""
        replica, conn = self._replica_connection() if replica_ok else (None, None)
        if replica is not None and conn is not None:
            with mapped(), conn, self._on_replica(replica):
                yield conn
            return
        with mapped(), self._engine.connect() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Unit]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with mapped(), self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
            yield conn
        if self._writer is not None and self._recent is not None:
            self._recent.note(self._writer)

    @contextmanager
    def raw_reader(self, *, replica_ok: bool = False) -> Iterator[Any]:
        """A DB-API connection for the lookup's fixed statements (`paramstyle` says how to
        write their parameters), in autocommit on SQLite files.

        On a SQLite file it is this thread's own connection, made on first use from the
        engine's pool and detached from it: it runs the pool's connect hooks (WAL, busy
        timeout) but never counts against the pool's size. A connection that failed is
        dropped, so that the next read starts afresh. Elsewhere a pooled connection's driver:
        a replica's where `replica_ok` and one is usable (see `read`).
        """
        if replica_ok and self._replicas is not None:
            replica, conn = self._replica_connection()
            if replica is not None and conn is not None:
                with mapped(), conn, self._on_replica(replica):
                    yield conn.connection.driver_connection
                return
        if self._readers is None:
            with self.read() as conn:
                driver = conn.connection.driver_connection
                try:
                    yield driver
                except self._engine.dialect.loaded_dbapi.OperationalError:
                    # A dead connection (the server restarted, the backend was ended): out of
                    # the pool with the idle ones, which are likely dead too (no pre-ping).
                    if getattr(driver, "broken", False) or getattr(driver, "closed", False):
                        conn.invalidate()
                        self._engine.pool.dispose()
                    raise
            return
        readers = self._readers
        pool = self._engine.pool
        with mapped():
            if readers.pool is not pool:
                self._drop_reader(readers)
                connection = pool.connect()
                driver = connection.driver_connection  # before detaching, which forgets it
                connection.detach()
                readers.driver = driver
                readers.pool = pool
            try:
                yield readers.driver
            except self._engine.dialect.loaded_dbapi.Error:
                self._drop_reader(readers)
                raise

    def _replica_connection(self) -> tuple[Replica | None, Connection | None]:
        """A usable replica and a connection to it, or (None, None): read from the primary."""
        if self._replicas is None:
            return None, None
        replica = self._replicas.pick()
        if replica is None:
            return None, None
        try:
            return replica, replica.engine.connect()
        except DRIVER_ERRORS as exc:
            self._replicas.failed(replica, exc)
            return None, None

    @contextmanager
    def _on_replica(self, replica: Replica) -> Iterator[None]:
        """Leave `replica` out when a read on it fails for an outage."""
        try:
            yield
        except DRIVER_ERRORS as exc:
            if self._replicas is not None and database_error(exc) is not None:
                self._replicas.failed(replica, exc)
            raise

    def _drop_reader(self, readers: _Readers) -> None:
        driver, readers.pool, readers.driver = readers.driver, None, None
        if driver is not None:
            with suppress(self._engine.dialect.loaded_dbapi.Error):
                driver.close()

    @property
    def async_reads(self) -> AsyncReads | None:
        """The async reads of the running event loop (None: there are none, as on SQLite);
        outside any loop, the only ones open, if only one is."""
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        found = self._async_reads.get(loop) or self._async_reads.get(None)
        if found is None and loop is None and len(self._async_reads) == 1:
            found = next(iter(self._async_reads.values()))
        return None if found is None else found[0]

    @async_reads.setter
    def async_reads(self, reads: AsyncReads | None) -> None:
        """Reads for any loop (tests); None removes them."""
        if reads is None:
            self._async_reads.pop(None, None)
        else:
            self._async_reads[None] = (reads, 1)

    async def open_async_reads(self) -> None:
        """On PostgreSQL, open the lookup's async pools (`store.aio`) on the running event
        loop, or count one more app using those open on it; on SQLite nothing (its in-process
        reads need no thread and no pool)."""
        if self.dialect != "postgresql":
            return
        loop = asyncio.get_running_loop()
        if loop in self._async_reads:
            reads, users = self._async_reads[loop]
            self._async_reads[loop] = (reads, users + 1)
            return
        reads = AsyncReads(self._engine, self._replicas)
        await reads.open()
        self._async_reads[loop] = (reads, 1)

    async def close_async_reads(self) -> None:
        """One app of the running loop is done with its async reads: closed with the last."""
        loop = asyncio.get_running_loop()
        if loop not in self._async_reads:
            return
        reads, users = self._async_reads[loop]
        if users > 1:
            self._async_reads[loop] = (reads, users - 1)
            return
        del self._async_reads[loop]
        await reads.close()

    def ping(self) -> None:
        """Raise `DatabaseUnavailable` unless the database answers a query."""
        with self.read() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        """Close the pools' connections (new pools are made on next use)."""
        self._engine.dispose()
        if self._replicas is not None:
            self._replicas.dispose()

    def close(self) -> None:
        """Release the engines if this object made them."""
        if self._owns_engine:
            self._engine.dispose()
            if self._replicas is not None:
                self._replicas.dispose()


def replicas_of(engine: Engine, settings: Settings) -> Replicas | None:
    """The read replicas `settings` name for the primary `engine`, or None when none are.

    Each replica's engine is made like the primary's, with a short connect timeout (unless its
    URL sets one) so that an unreachable standby costs its check little. Replicas are for
    PostgreSQL: a SQLite primary with replicas is refused.
    """
    urls = [u.strip() for u in settings.database_replica_urls.split(",") if u.strip()]
    if not urls:
        return None
    if engine.dialect.name != "postgresql":
        raise DatabaseError(
            "replicas_unsupported",
            "EMSTRACK_DATABASE_REPLICA_URLS is set, but read replicas need a PostgreSQL "
            f"primary and this one is {engine.dialect.name}. Empty the setting, or move to "
            "PostgreSQL (docs/scale.md).",
        )
    engines = []
    for url in urls:
        parsed = make_url(url)
        if parsed.get_backend_name() != "postgresql":
            raise DatabaseError(
                "replicas_unsupported",
                f"A read replica must be PostgreSQL: {parsed.render_as_string()} is not.",
            )
        extra: dict[str, Any] = {}
        if "connect_timeout" not in parsed.query:
            extra["connect_args"] = {"connect_timeout": 2}
        engines.append(make_engine(url, **extra))
    return Replicas(
        engine,
        [Replica(e) for e in engines],
        max_lag=settings.database_replica_max_lag,
        check_seconds=settings.database_replica_check_seconds,
        retry_seconds=settings.database_replica_retry_seconds,
    )
