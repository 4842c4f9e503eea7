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
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any, TypeAlias

from sqlalchemy import Connection, Engine, text
from sqlalchemy.pool import Pool

from emstrack.config import Settings
from emstrack.store.engine import WRITE, ensure_schema, make_engine
from emstrack.store.errors import mapped

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

    def __init__(self, engine: Engine, *, owns_engine: bool = False) -> None:
        self._engine = engine
        self._owns_engine = owns_engine
        self.dialect: str = engine.dialect.name
        #: SQLite: reads are in-process and never wait on a writer (WAL).
        self.local_reads = self.dialect == "sqlite"
        self.paramstyle: str = engine.dialect.paramstyle
        database = engine.url.database or ""
        in_memory = database in ("", ":memory:") or "mode=memory" in str(engine.url)
        # Not for an in-memory database, which is a different database on every connection.
        self._readers = _Readers() if self.local_reads and not in_memory else None

    @classmethod
    def open(cls, settings: Settings, *, migrate: bool | None = None) -> Database:
        """The database of `settings`, its schema checked (and brought up to date on SQLite
        when `auto_migrate` allows)."""
        engine = make_engine(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
        db = cls(engine, owns_engine=True)
        try:
            db.ensure_schema(settings.auto_migrate if migrate is None else migrate)
        except BaseException:
            engine.dispose()
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

    @contextmanager
    def read(self) -> Iterator[Unit]:
        """A connection for reads; each statement sees what was committed before it."""
        with mapped(), self._engine.connect() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Unit]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with mapped(), self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
            yield conn

    @contextmanager
    def raw_reader(self) -> Iterator[Any]:
        """A DB-API connection for the lookup's fixed statements (`paramstyle` says how to
        write their parameters), in autocommit on SQLite files.

        On a SQLite file it is this thread's own connection, made on first use from the
        engine's pool and detached from it: it runs the pool's connect hooks (WAL, busy
        timeout) but never counts against the pool's size. A connection that failed is
        dropped, so that the next read starts afresh. Elsewhere a pooled connection's driver.
        """
        if self._readers is None:
            with self.read() as conn:
                yield conn.connection.driver_connection
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

    def _drop_reader(self, readers: _Readers) -> None:
        driver, readers.pool, readers.driver = readers.driver, None, None
        if driver is not None:
            with suppress(self._engine.dialect.loaded_dbapi.Error):
                driver.close()

    def ping(self) -> None:
        """Raise `DatabaseUnavailable` unless the database answers a query."""
        with self.read() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        """Close the pool's connections (a new pool is made on next use)."""
        self._engine.dispose()

    def close(self) -> None:
        """Release the engine if this object made it."""
        if self._owns_engine:
            self._engine.dispose()
