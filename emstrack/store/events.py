"""The events table: an item's history, read for lookups and batches, written in bulk.

The two hot paths run fixed statements on the driver's own cursor, without SQLAlchemy's
per-statement compilation and result processing: the lookup's two reads (`history_rows`) and the
writer's `executemany` of a batch (`write_changes`). Columns are named once, in `EVENT_FIELDS`
and `HISTORY_EVENT_FIELDS`; code that reads the rows finds a column by its name there.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Final

import orjson
from sqlalchemy import Connection, func, select

from emstrack.domain.events import Event
from emstrack.store.items import (
    CONFLICT_FIELDS,
    ITEM_DATETIMES,
    ITEM_FIELDS,
    Conflict,
    ItemRow,
    item_from_driver,
)
from emstrack.store.schema import events
from emstrack.store.values import (
    aware,
    chunks,
    local_dt,
    placeholder,
    sqlite_rows,
    sqlite_text,
    utc_dt,
)

#: The stored columns of an event, as `Event` holds them (its payloads, `raw`, are stored
#: apart): rows of them, in this order, are an `Event`'s positional arguments.
EVENT_FIELDS: Final[tuple[str, ...]] = tuple(f.name for f in fields(Event) if f.name != "raw")
#: The columns of the events `history_rows` returns, in order: all but the ingest time, which
#: an answer never shows.
HISTORY_EVENT_FIELDS: Final[tuple[str, ...]] = tuple(
    name for name in EVENT_FIELDS if name != "ingested_at"
)
_LOCAL = EVENT_FIELDS.index("occurred_local")
_INGESTED = EVENT_FIELDS.index("ingested_at")


@dataclass(slots=True)
class StoredEvent:
    """An event as stored: the value, its key, and every payload that delivered it.

    `raw` is None for an event read back from the database until someone needs its payloads
    (`event_raw`): a batch reads many stored events and appends to few.
    """

    key: str
    event: Event
    raw: list[Any] | None = field(default_factory=list)


def _event_from_driver(row: Sequence[Any]) -> Event:
    """An `Event` from a driver's row of `EVENT_FIELDS` or of `HISTORY_EVENT_FIELDS`."""
    values = list(row)
    values[_LOCAL] = local_dt(values[_LOCAL])
    if len(values) > _INGESTED:
        values[_INGESTED] = utc_dt(values[_INGESTED])
    return Event(*values)


def events_from_rows(rows: Iterable[Sequence[Any]]) -> list[Event]:
    """The events of rows of `HISTORY_EVENT_FIELDS` (`history_rows`)."""
    return [_event_from_driver(row) for row in rows]


def events_for(
    conn: Connection, numbers: Sequence[str]
) -> dict[tuple[str, int], dict[str, StoredEvent]]:
    """Every stored event of each number, by (number, generation) and then by dedupe key.

    Payloads are not read (see `StoredEvent`); read through the driver, as the lookup does.
    """
    found: dict[tuple[str, int], dict[str, StoredEvent]] = defaultdict(dict)
    p = placeholder(conn.dialect.paramstyle)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        for chunk in chunks(numbers):
            cursor.execute(
                f"SELECT number, generation, dedupe_key, {', '.join(EVENT_FIELDS)} FROM events "
                f"WHERE number IN ({', '.join([p] * len(chunk))})",
                tuple(chunk),
            )
            for row in cursor.fetchall():
                event = _event_from_driver(row[3:])
                found[(row[0], row[1])][row[2]] = StoredEvent(row[2], event, None)
    finally:
        cursor.close()
    return found


def event_raw(conn: Connection, number: str, generation: int, key: str) -> list[Any]:
    """The payloads stored with one event."""
    query = select(events.c.raw).where(
        events.c.number == number, events.c.generation == generation, events.c.dedupe_key == key
    )
    raw = conn.execute(query).scalar_one()
    return list(json.loads(raw))


# --- the lookup's reads ----------------------------------------------------------------------


def history_rows(
    driver: Any, paramstyle: str, number: str
) -> tuple[list[ItemRow], list[Sequence[Any]]]:
    """The lookup's two range reads, on a DB-API connection (`Database.raw_reader`): every item
    of `number`, and the rows of the current item's events (`events_from_rows` makes them
    `Event`s; the API's fast path reads them as they are).

    The current item is the one whose latest event is newest (normally the last generation).
    Event rows hold `HISTORY_EVENT_FIELDS` in that order, `occurred_local` as the driver gives
    it (ISO text on SQLite, a datetime elsewhere; `values.local_dt` reads both).
    """
    sql = _history_sql(paramstyle)
    cursor = driver.cursor()
    try:
        cursor.execute(sql[0], (number,))
        rows = [item_from_driver(row) for row in cursor.fetchall()]
        if not rows:
            return [], []
        current = max(rows, key=lambda item: (item.last_event_at, item.generation))
        cursor.execute(sql[1], (number, current.generation))
        found: list[Sequence[Any]] = cursor.fetchall()
    finally:
        cursor.close()
    return rows, found


@lru_cache(maxsize=4)
def _history_sql(paramstyle: str) -> tuple[str, str]:
    p = placeholder(paramstyle)
    return (
        f"SELECT {', '.join(ITEM_FIELDS)} FROM items WHERE number = {p} ORDER BY generation",
        f"SELECT {', '.join(HISTORY_EVENT_FIELDS)} FROM events "
        f"WHERE number = {p} AND generation = {p}",
    )


# --- the writer's bulk path ------------------------------------------------------------------

#: The columns `event_row` fills, in its order (its own list: a million rows are built by
#: position, so a change of `Event`'s fields must not move them).
EVENT_WRITE_FIELDS: Final[tuple[str, ...]] = (
    "number",
    "generation",
    "dedupe_key",
    "code",
    "occurred_local",
    "utc_offset_min",
    "office_code",
    "office_name",
    "country",
    "next_office_code",
    "reason_code",
    "reason_text",
    "action_code",
    "action_text",
    "retention_code",
    "retention_text",
    "signatory",
    "description",
    "source",
    "profile",
    "rule",
    "label_en",
    "label_zh",
    "effect",
    "ingested_at",
    "occurred_utc",
    "raw",
)


def event_row(
    number: str, generation: int, stored: StoredEvent, *, sqlite: bool = False
) -> tuple[Any, ...]:
    """The stored event as a row of `EVENT_WRITE_FIELDS`, ready for the driver.

    For SQLite, datetimes become the text SQLAlchemy's SQLite DateTime type writes and reads
    (naive; UTC for the aware columns), built here directly because the bulk path does it a
    million times.
    """
    e = stored.event
    local, offset = e.occurred_local, e.utc_offset_min
    assert stored.raw is not None, "payloads are read before an event is written back"
    raw = orjson.dumps(stored.raw, default=str).decode()
    if sqlite:
        occurred: Any = local.isoformat(" ", "microseconds")
        utc: Any = None
        if offset is not None:
            utc = (local - timedelta(minutes=offset)).isoformat(" ", "microseconds")
        ingested: Any = sqlite_text(e.ingested_at)
    else:
        occurred, ingested = local, e.ingested_at
        utc = None
        if offset is not None:
            utc = (local - timedelta(minutes=offset)).replace(tzinfo=UTC)
    # The values of `EVENT_WRITE_FIELDS`, in order.
    return (
        number,
        generation,
        stored.key,
        e.code,
        occurred,
        offset,
        e.office_code,
        e.office_name,
        e.country,
        e.next_office_code,
        e.reason_code,
        e.reason_text,
        e.action_code,
        e.action_text,
        e.retention_code,
        e.retention_text,
        e.signatory,
        e.description,
        e.source,
        e.profile,
        e.rule,
        e.label_en,
        e.label_zh,
        e.effect,
        ingested,
        utc,
        raw,
    )


_CONFLICT_TIMES = (CONFLICT_FIELDS.index("first_seen_at"),)


def _adapt(rows: Iterable[Sequence[Any]], datetimes: tuple[int, ...], sqlite: bool) -> list[Any]:
    if not sqlite:
        return [tuple(row) for row in rows]
    return sqlite_rows(rows, datetimes)


@lru_cache(maxsize=4)
def _write_sql(paramstyle: str) -> dict[str, str]:
    p = placeholder(paramstyle)

    def insert_into(table: str, names: Sequence[str]) -> str:
        return f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join([p] * len(names))})"

    def update_of(table: str, names: Sequence[str], keys: Sequence[str]) -> str:
        sets = ", ".join(f"{name} = {p}" for name in names)
        where = " AND ".join(f"{key} = {p}" for key in keys)
        return f"UPDATE {table} SET {sets} WHERE {where}"

    return {
        "insert_item": insert_into("items", ITEM_FIELDS),
        "update_item": update_of("items", ITEM_FIELDS[2:], ITEM_FIELDS[:2]),
        "insert_event": insert_into("events", EVENT_WRITE_FIELDS),
        "update_event": update_of("events", EVENT_WRITE_FIELDS[3:], EVENT_WRITE_FIELDS[:3]),
        "delete_events": f"DELETE FROM events WHERE number = {p} AND generation = {p}",
        "delete_item": f"DELETE FROM items WHERE number = {p} AND generation = {p}",
        "delete_conflicts": (f"DELETE FROM item_conflicts WHERE number = {p} AND generation = {p}"),
        # The first sighting of a conflicting value is kept; later ones add nothing.
        "insert_conflict": insert_into("item_conflicts", CONFLICT_FIELDS)
        + " ON CONFLICT DO NOTHING",
    }


def write_changes(
    conn: Connection,
    *,
    deleted_items: Sequence[tuple[str, int]] = (),
    new_items: list[ItemRow],
    changed_items: list[ItemRow],
    new_events: Sequence[Sequence[Any]],
    changed_events: Sequence[Sequence[Any]],
    conflicts: Sequence[Conflict] = (),
) -> None:
    """Write one batch's changes to items, events and conflicts; the caller owns the
    transaction. Event rows come from `event_row` for this connection's dialect.

    The bulk path: fixed statements run with the driver's `executemany`, without SQLAlchemy's
    per-row parameter processing (datetimes are written in the text form its SQLite type reads).
    """
    sql = _write_sql(conn.dialect.paramstyle)
    sqlite = conn.dialect.name == "sqlite"
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if deleted_items:
            # Items merged into another: their events (and conflicts) were moved and are
            # inserted below.
            cursor.executemany(sql["delete_events"], deleted_items)
            cursor.executemany(sql["delete_conflicts"], deleted_items)
            cursor.executemany(sql["delete_item"], deleted_items)
        if new_items:
            rows = _adapt((item.to_tuple() for item in new_items), ITEM_DATETIMES, sqlite)
            cursor.executemany(sql["insert_item"], rows)
        if changed_items:
            rows = _adapt((item.to_tuple() for item in changed_items), ITEM_DATETIMES, sqlite)
            cursor.executemany(sql["update_item"], [(*row[2:], *row[:2]) for row in rows])
        if new_events:
            cursor.executemany(sql["insert_event"], new_events)
        if changed_events:
            cursor.executemany(sql["update_event"], [(*r[3:], *r[:3]) for r in changed_events])
        if conflicts:
            rows = [tuple(getattr(c, name) for name in CONFLICT_FIELDS) for c in conflicts]
            cursor.executemany(sql["insert_conflict"], _adapt(rows, _CONFLICT_TIMES, sqlite))
    finally:
        cursor.close()


# An unmapped operator event: read through a profile, no rule mapped its text (docs/import.md).
_UNMAPPED = (events.c.profile.is_not(None), events.c.rule.is_(None), events.c.effect == "none")


@dataclass(frozen=True, slots=True)
class UnmappedText:
    """One distinct text no rule mapped: how often it was stored, and when last."""

    profile: str
    text: str
    count: int
    last_ingested_at: datetime | None


def unmapped_texts(conn: Connection, source: str | None = None) -> list[UnmappedText]:
    """The distinct unmapped texts (of one `source`, or all), newest first."""
    last = func.max(events.c.ingested_at)
    query = (
        select(events.c.profile, events.c.description, func.count(), last)
        .where(*_UNMAPPED)
        .group_by(events.c.profile, events.c.description)
        .order_by(last.desc(), events.c.description)
    )
    if source is not None:
        query = query.where(events.c.source == source)
    return [
        UnmappedText(profile, text or "", count, aware(at))
        for profile, text, count, at in conn.execute(query)
    ]


def unmapped_numbers(conn: Connection, profile: str | None = None) -> list[str]:
    """The numbers with unmapped events (of one `profile`, or any), in order."""
    query = select(events.c.number).where(*_UNMAPPED).distinct().order_by(events.c.number)
    if profile is not None:
        query = query.where(events.c.profile == profile)
    return list(conn.execute(query).scalars())
