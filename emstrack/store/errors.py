"""What a database driver's error means, decided in one place: an outage or a bug.

Statements run through SQLAlchemy fail with its `DBAPIError`; the hot paths that run on the
driver's own cursor (the writer's `executemany`, the lookup's reads) fail with the driver's
errors unwrapped (`sqlite3.Error`, `psycopg.Error`, and asyncpg's for PostgreSQL's async
lookup read, `store.aio`). All are read here. An outage (the server
is gone, the file cannot be opened or written, the write lock was not granted in time, the disk
is full) becomes our `DatabaseUnavailable`, which the web answers 503 with `Retry-After` and the
CLI with one line; anything else (a broken constraint, bad SQL) is a bug and is left as it is.

Reasons come from the driver's error codes (SQLite's result code, PostgreSQL's SQLSTATE), never
from its message, and the message is never passed on: it can hold the URL, a path, SQL or the
statement's values.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import asyncpg
import psycopg
from sqlalchemy.exc import DBAPIError

from emstrack.errors import DatabaseUnavailable

#: Every error a database driver raises, wrapped by SQLAlchemy or not.
DRIVER_ERRORS: Final[tuple[type[Exception], ...]] = (
    DBAPIError,
    sqlite3.Error,
    psycopg.Error,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)

# The DB-API classes that mean "cannot serve now" whatever the code: SQLAlchemy wraps a driver
# error in the class of the same name, so the driver's own class decides.
_OUTAGE_CLASSES = (
    sqlite3.OperationalError,
    sqlite3.InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)

_CANNOT_CONNECT = (
    "The service cannot connect to the database.",
    "Check that the database server is running and that EMSTRACK_DATABASE_URL points at it.",
)
_LOCKED = (
    "The database is locked by another process and did not answer in time.",
    "Try again when the other process has finished.",
)
_READ_ONLY = (
    "The database cannot be written to.",
    "Make the database (its file and folder, on a disk mounted read-write) writable for this "
    "user, or set EMSTRACK_DATABASE_URL to a writable one.",
)
_DISK_FULL = ("The database's disk is full.", "Free some space on it, then try again.")
_CANNOT_OPEN = (
    "The database file cannot be opened.",
    "Check that it exists and that its folder is readable and writable for this user "
    "(SQLite keeps its -wal and -shm files beside it).",
)
_STORAGE = (
    "The database's storage failed to read or write.",
    "Check the disk and the system log, then try again.",
)
_DAMAGED = (
    "The database file is damaged or is not a database.",
    "Restore it from a backup, or check that EMSTRACK_DATABASE_URL names the right file.",
)
_NO_ANSWER = ("The database did not answer.", "Try again shortly.")

# SQLite's primary result codes (the low byte of the extended code).
_SQLITE: Final = {
    sqlite3.SQLITE_BUSY: _LOCKED,
    sqlite3.SQLITE_LOCKED: _LOCKED,
    sqlite3.SQLITE_READONLY: _READ_ONLY,
    sqlite3.SQLITE_PERM: _READ_ONLY,
    sqlite3.SQLITE_FULL: _DISK_FULL,
    sqlite3.SQLITE_CANTOPEN: _CANNOT_OPEN,
    sqlite3.SQLITE_IOERR: _STORAGE,
    sqlite3.SQLITE_CORRUPT: _DAMAGED,
    sqlite3.SQLITE_NOTADB: _DAMAGED,
}
# PostgreSQL's SQLSTATEs, then their classes (the first two characters).
_POSTGRES: Final = {
    "25006": _READ_ONLY,  # a hot standby, or default_transaction_read_only
    "53100": _DISK_FULL,
    "55P03": _LOCKED,  # lock_not_available (lock_timeout)
    "57014": _NO_ANSWER,  # query_canceled (statement_timeout)
    "08": _CANNOT_CONNECT,
    "57": _CANNOT_CONNECT,  # admin shutdown, crash shutdown, cannot connect now
    "58": _STORAGE,  # system_error, io_error
}


def _reason(exc: BaseException) -> tuple[str, str] | None:
    """(why, what to do) for an outage; None for an error that is a bug."""
    invalidated = isinstance(exc, DBAPIError) and exc.connection_invalidated
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    if isinstance(orig, sqlite3.Error):
        code = (getattr(orig, "sqlite_errorcode", None) or 0) & 0xFF
        if code in _SQLITE:
            return _SQLITE[code]
        if code == sqlite3.SQLITE_ERROR and not invalidated:
            return None  # bad SQL or a missing table: a bug, whatever its class says
    elif isinstance(orig, psycopg.Error):
        state = orig.sqlstate or ""
        found = _POSTGRES.get(state) or _POSTGRES.get(state[:2])
        if found is not None:
            return found
        if not state and isinstance(orig, _OUTAGE_CLASSES):
            return _CANNOT_CONNECT  # libpq's own failures (refused, closed, timed out)
    elif isinstance(orig, asyncpg.PostgresError):
        state = str(getattr(orig, "sqlstate", "") or "")
        return _POSTGRES.get(state) or _POSTGRES.get(state[:2])
    elif isinstance(orig, asyncpg.InterfaceError):
        return _CANNOT_CONNECT  # the client's side of a connection closed or lost
    if invalidated:
        return _CANNOT_CONNECT
    return _NO_ANSWER if isinstance(orig, _OUTAGE_CLASSES) else None


def database_error(exc: BaseException) -> DatabaseUnavailable | None:
    """`exc` as our `DatabaseUnavailable` when it means the database cannot serve us now;
    None when it is a bug (a broken constraint, bad SQL) or not a driver's error at all."""
    if not isinstance(exc, DRIVER_ERRORS):
        return None
    reason = _reason(exc)
    return None if reason is None else DatabaseUnavailable(*reason)


@contextmanager
def mapped() -> Iterator[None]:
    """Raise an outage inside the block as `DatabaseUnavailable`, the driver's error its cause.

    Put it around a whole unit of work, outside its transaction, so that the error of the
    rollback that follows a lost connection is mapped too.
    """
    try:
        yield
    except DRIVER_ERRORS as exc:
        error = database_error(exc)
        if error is None:
            raise
        raise error from exc
