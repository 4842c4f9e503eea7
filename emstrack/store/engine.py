"""Engines per dialect, and migrations applied where it is safe.

SQLite runs in WAL mode with `synchronous=NORMAL` (a crash loses no committed transaction of the
database, only possibly the last ones before a power cut) and takes its write lock up front
(`BEGIN IMMEDIATE`) for writing transactions, so two writers never deadlock on a lock upgrade.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url

from emstrack.errors import DatabaseError

_MIGRATIONS = Path(__file__).with_name("migrations")

#: Execution option that makes a SQLite transaction take the write lock at BEGIN.
WRITE = {"emstrack_write": True}


def make_engine(url: str, *, busy_timeout_ms: int = 30000, **kwargs: Any) -> Engine:
    """An engine for `url`, configured for its dialect.

    On SQLite a writer waits `busy_timeout_ms` for the write lock before it fails with "database
    is locked". On PostgreSQL a connection is not checked as it leaves the pool (no
    `pool_pre_ping`: a round trip per checkout is a large share of a lookup); a statement that
    finds its connection dead invalidates it and the pool's idle ones (SQLAlchemy's, and
    `Database.raw_reader`'s), and the lookup tries once more (`lookup.Tracker`).
    No statement's parameters appear in SQLAlchemy's errors or logs (`hide_parameters`): they
    hold e-mail addresses, chat ids and signatories.
    """
    parsed = make_url(url)
    kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        # A SQLite URI (`file:...?mode=ro&uri=true`) opens what it names and nothing else.
        is_uri = parsed.query.get("uri") in ("true", "1")
        if database and database != ":memory:" and not is_uri:
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            parsed,
            connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
            **kwargs,
        )
        _configure_sqlite(engine, busy_timeout_ms)
        return engine
    kwargs.setdefault("pool_pre_ping", False)
    return create_engine(parsed, **kwargs)


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself (pysqlite's own is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("emstrack_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _head() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to `revision` (what `emstrack db upgrade` does)."""
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), revision)


def ensure_schema(engine: Engine, *, auto_migrate: bool = True) -> None:
    """Make sure the schema is current, migrating where that is safe, or say what to do.

    Safe means: SQLite (one file, one host), or a PostgreSQL database that has no tables yet.
    A PostgreSQL database shared by several servers is upgraded by an operator on purpose.
    """
    current = current_revision(engine)
    if current == _head():
        return
    empty = not inspect(engine).get_table_names()
    if auto_migrate and (engine.dialect.name == "sqlite" or empty):
        upgrade(engine)
        return
    raise DatabaseError(
        "schema_outdated",
        f"The database schema is at revision {current or 'none'}, this version needs "
        f"{_head()}. Run `emstrack db upgrade` first.",
    )
