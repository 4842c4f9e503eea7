"""Values as the drivers hand them over and take them back, for the items and events tables.

SQLite has no date-time type: SQLAlchemy's SQLite `DateTime` writes naive ISO text (UTC for the
time-zone-aware columns), and the hot paths, which run on the driver's own cursor, read and
write that text themselves. PostgreSQL's driver gives and takes datetimes as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

#: Chunk size for `IN (...)` lists: well below SQLite's and PostgreSQL's parameter limits.
_IN_CHUNK = 500


def chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    """`values` in slices small enough for one `IN (...)` list."""
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start : start + _IN_CHUNK]


def placeholder(paramstyle: str) -> str:
    """The driver's parameter marker: `?` (sqlite3) or `%s` (psycopg)."""
    return "?" if paramstyle == "qmark" else "%s"


def aware(value: datetime | None) -> datetime | None:
    """A time-zone-aware column read through SQLAlchemy: SQLite's comes back naive, in UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def local_dt(value: datetime | str) -> datetime:
    """A naive column (`occurred_local`) from the driver: SQLite's is the ISO text written."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def utc_dt(value: datetime | str) -> datetime:
    """A time-zone-aware column from the driver: SQLite's is naive UTC text."""
    if isinstance(value, str):
        return datetime.fromisoformat(value + "+00:00")
    return value


def sqlite_text(value: datetime | None) -> str | None:
    """The text SQLAlchemy's SQLite `DateTime` type writes and reads (UTC when aware)."""
    # A batch's events share one ingest time: remember the last answer (cheaper than an
    # lru_cache's hash; one tuple, swapped whole, so that threads never see half of another's
    # answer).
    global _last_text
    last = _last_text
    if last[0] is value:
        return last[1]
    text = None
    if value is not None:
        plain = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo is not None else value
        text = plain.isoformat(" ", "microseconds")
    _last_text = (value, text)
    return text


_last_text: tuple[datetime | None, str | None] = (None, None)


def sqlite_rows(rows: Iterable[Sequence[Any]], datetimes: tuple[int, ...]) -> list[list[Any]]:
    """Rows for SQLite's driver: the datetimes at positions `datetimes` as `sqlite_text`."""
    adapted = []
    for row in rows:
        values = list(row)
        for i in datetimes:
            values[i] = sqlite_text(values[i])
        adapted.append(values)
    return adapted
