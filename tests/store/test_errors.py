"""What a driver's error means: real errors of real databases, read by `emstrack.store.errors`.

An outage becomes `DatabaseUnavailable` with a reason and what to do; a bug (bad SQL, a broken
constraint) stays the driver's error. Raw driver errors and SQLAlchemy's are read alike.
"""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from factories import POSTGRES_URL
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from emstrack.errors import DatabaseUnavailable
from emstrack.store.engine import make_engine
from emstrack.store.errors import database_error, mapped


def _raised(action: Callable[[], object]) -> Exception:
    try:
        action()
    except Exception as exc:
        return exc
    raise AssertionError("no error")


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Path:
    path = tmp_path / "t.db"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")  # as the service's databases are
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        conn.execute("INSERT INTO t VALUES (1)")
    conn.close()
    return path


def _run(database: Path | str, sql: str, *, uri: bool = False) -> None:
    conn = sqlite3.connect(database, uri=uri)
    try:
        conn.execute(sql)
    finally:
        conn.close()


def _read_only_write(path: Path) -> None:
    _run(f"file:{path}?mode=ro", "INSERT INTO t VALUES (2)", uri=True)


def _locked_write(path: Path) -> None:
    holder = sqlite3.connect(path, isolation_level=None)
    other = sqlite3.connect(path, timeout=0)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        other.execute("INSERT INTO t VALUES (2)")
    finally:
        other.close()
        holder.close()


def _not_a_database(path: Path) -> None:
    path.write_bytes(b"this is not a database file at all" * 100)
    _run(path, "SELECT 1 FROM t")


SQLITE_CASES: list[tuple[str, Callable[[Path], object], str | None]] = [
    ("read-only", _read_only_write, "written"),
    ("locked", _locked_write, "locked"),
    ("missing", lambda p: _run(f"file:{p}.missing?mode=ro", "SELECT 1", uri=True), "opened"),
    ("not a database", _not_a_database, "damaged"),
    ("unique", lambda p: _run(p, "INSERT INTO t VALUES (1)"), None),
    ("no such table", lambda p: _run(p, "SELECT * FROM nothing"), None),
    ("syntax", lambda p: _run(p, "SELEC 1"), None),
]


@pytest.mark.parametrize(
    ("action", "why"), [case[1:] for case in SQLITE_CASES], ids=[c[0] for c in SQLITE_CASES]
)
def test_sqlite_driver_errors(
    sqlite_file: Path, action: Callable[[Path], object], why: str | None
) -> None:
    exc = _raised(lambda: action(sqlite_file))
    assert isinstance(exc, sqlite3.Error)
    error = database_error(exc)
    if why is None:
        assert error is None
        return
    assert isinstance(error, DatabaseUnavailable)
    assert error.code == "database_unavailable"
    assert why in error.message
    assert error.hint
    assert str(sqlite_file) not in str(error)


def test_sqlalchemys_errors_are_read_like_the_drivers(sqlite_file: Path) -> None:
    engine = make_engine(f"sqlite:///file:{sqlite_file}?mode=ro&uri=true")
    try:
        with engine.begin() as conn:
            exc = _raised(lambda: conn.execute(text("INSERT INTO t VALUES (:id)"), {"id": 2}))
    finally:
        engine.dispose()
    assert isinstance(exc, DBAPIError)
    error = database_error(exc)
    assert error is not None
    assert error.message == "The database cannot be written to."


def test_mapped_raises_ours_for_an_outage_and_leaves_bugs_alone(sqlite_file: Path) -> None:
    with pytest.raises(DatabaseUnavailable) as caught, mapped():
        _read_only_write(sqlite_file)
    assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
    with pytest.raises(sqlite3.IntegrityError), mapped():
        _run(sqlite_file, "INSERT INTO t VALUES (1)")
    with pytest.raises(ValueError, match="ours"), mapped():
        raise ValueError("ours")


@pytest.fixture
def pg() -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    url = make_url(POSTGRES_URL)
    conninfo = f"host={url.host} port={url.port} user={url.username} dbname={url.database}"
    try:
        conn = psycopg.connect(conninfo, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL server at {url.render_as_string()}: {exc}")
    yield conn
    conn.close()


PG_CASES: list[tuple[str, list[str], str | None]] = [
    ("read-only", ["BEGIN READ ONLY", "CREATE TABLE t (id int)"], "cannot be written to"),
    ("terminated", ["SELECT pg_terminate_backend(pg_backend_pid())"], "cannot connect"),
    ("timeout", ["SET statement_timeout = 1", "SELECT pg_sleep(5)"], "did not answer"),
    ("unique", ["CREATE TEMP TABLE t (id int UNIQUE)", "INSERT INTO t VALUES (1), (1)"], None),
    ("syntax", ["SELEC 1"], None),
]


@pytest.mark.parametrize(
    ("statements", "why"), [case[1:] for case in PG_CASES], ids=[c[0] for c in PG_CASES]
)
def test_postgresql_driver_errors(
    pg: psycopg.Connection[tuple[object, ...]], statements: list[str], why: str | None
) -> None:
    def run() -> None:
        for statement in statements:
            pg.execute(statement.encode())

    exc = _raised(run)
    assert isinstance(exc, psycopg.Error)
    error = database_error(exc)
    if why is None:
        assert error is None
    else:
        assert error is not None
        assert why in error.message


def test_a_postgresql_server_that_is_not_there() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    exc = _raised(lambda: psycopg.connect(f"host=127.0.0.1 port={port} user=postgres"))
    error = database_error(exc)
    assert error is not None
    assert error.message == "The service cannot connect to the database."
    assert "EMSTRACK_DATABASE_URL" in (error.hint or "")


def test_other_errors_are_not_the_databases() -> None:
    assert database_error(ValueError("x")) is None
    assert database_error(OSError("disk")) is None


def test_no_statement_value_reaches_an_error(engine: Engine) -> None:
    """`hide_parameters`: a failed statement's error names its SQL, never its values."""
    query = text("SELECT 1 FROM no_such_table WHERE address = :address")
    with engine.connect() as conn:
        exc = _raised(lambda: conn.execute(query, {"address": "alice@example.com"}))
    assert isinstance(exc, DBAPIError)
    assert "no_such_table" in str(exc)
    assert "alice@example.com" not in str(exc)
