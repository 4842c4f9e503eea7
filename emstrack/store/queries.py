"""Reads and writes of items and events. Rows go in and out as our domain values.

SQLite hands back aware-column datetimes naive (it has no time-zone type): those are UTC by
construction, and `_aware` says so once, here.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, func, select

from emstrack.domain.events import Event
from emstrack.store.schema import events, item_conflicts, items

#: Chunk size for `IN (...)` lists: well below SQLite's and PostgreSQL's parameter limits.
_IN_CHUNK = 500

_EVENT_FIELDS = (
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
    "ingested_at",
)
_EVENT_COLUMNS = [events.c[name] for name in _EVENT_FIELDS]
_ITEM_FIELDS = (
    "number",
    "generation",
    "kind",
    "service",
    "origin_country",
    "destination_country",
    "destination_postcode",
    "first_event_at",
    "last_event_at",
    "status",
    "status_detail",
    "status_code",
    "event_count",
    "created_at",
    "updated_at",
    "postcode_from",
)


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


@dataclass(slots=True)
class ItemRow:
    """One item: a tracking number in one generation, with what is known of it."""

    number: str
    generation: int
    kind: str
    service: str | None
    origin_country: str | None
    destination_country: str | None
    destination_postcode: str | None
    first_event_at: datetime
    last_event_at: datetime
    status: str
    status_detail: str | None
    status_code: str | None
    event_count: int
    created_at: datetime
    updated_at: datetime
    #: "event" (a newly stored event carried the postcode: a proof), "merge" (it came only as
    #: extra detail on a duplicate: not a proof), or None without a postcode.
    postcode_from: str | None = None

    @property
    def postcode_is_proof(self) -> bool:
        """The destination postcode may unlock the private details."""
        return bool(self.destination_postcode) and self.postcode_from == "event"

    @classmethod
    def from_row(cls, row: Any) -> ItemRow:
        values = dict(row._mapping)
        values["created_at"] = _aware(values["created_at"])
        values["updated_at"] = _aware(values["updated_at"])
        return cls(**values)

    def to_row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _ITEM_FIELDS}

    def to_tuple(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in _ITEM_FIELDS)


@dataclass(slots=True)
class StoredEvent:
    """An event as stored: the value, its key, and every payload that delivered it.

    `raw` is None for an event read back from the database until someone needs its payloads
    (`event_raw`): a batch reads many stored events and appends to few.
    """

    key: str
    event: Event
    raw: list[Any] | None = field(default_factory=list)


def event_from_row(row: Sequence[Any]) -> Event:
    """An `Event` from a row selected with the columns of `_EVENT_COLUMNS`, in that order."""
    values = dict(zip(_EVENT_FIELDS, row, strict=True))
    values["ingested_at"] = _aware(values["ingested_at"])
    return Event(**values)


@dataclass(frozen=True, slots=True)
class Conflict:
    """A value of an item's attribute that disagrees with the one the item kept."""

    number: str
    generation: int
    field: str
    value: str
    source: str | None
    first_seen_at: datetime


def conflicts_of(conn: Connection, number: str, generation: int) -> list[Conflict]:
    """The conflicting attribute values recorded for one item, oldest first."""
    query = (
        select(item_conflicts)
        .where(item_conflicts.c.number == number, item_conflicts.c.generation == generation)
        .order_by(item_conflicts.c.first_seen_at, item_conflicts.c.field, item_conflicts.c.value)
    )
    found = []
    for row in conn.execute(query):
        values = dict(row._mapping)
        values["first_seen_at"] = _aware(values["first_seen_at"])
        found.append(Conflict(**values))
    return found


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start : start + _IN_CHUNK]


def items_for(conn: Connection, numbers: Sequence[str]) -> dict[str, list[ItemRow]]:
    """Every item (all generations) of each number, oldest generation first."""
    found: dict[str, list[ItemRow]] = defaultdict(list)
    for chunk in _chunks(numbers):
        query = (
            select(*[items.c[name] for name in _ITEM_FIELDS])
            .where(items.c.number.in_(chunk))
            .order_by(items.c.number, items.c.generation)
        )
        for row in conn.execute(query):
            found[row.number].append(ItemRow.from_row(row))
    return found


def events_for(
    conn: Connection, numbers: Sequence[str]
) -> dict[tuple[str, int], dict[str, StoredEvent]]:
    """Every stored event of each number, by (number, generation) and then by dedupe key.

    Payloads are not read (see `StoredEvent`); read through the driver, as the lookup does.
    """
    found: dict[tuple[str, int], dict[str, StoredEvent]] = defaultdict(dict)
    p = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        for chunk in _chunks(numbers):
            cursor.execute(
                f"SELECT number, generation, dedupe_key, {', '.join(_EVENT_FIELDS)} FROM events "
                f"WHERE number IN ({', '.join([p] * len(chunk))})",
                tuple(chunk),
            )
            for row in cursor.fetchall():
                event = _event_from_driver(row[3:], with_ingest_time=True)
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


def item_history(conn: Connection, number: str) -> tuple[list[ItemRow], list[Event]]:
    """The lookup's two range reads: every item of `number`, and the current item's events
    (without their ingest time).

    The current item is the one whose latest event is newest (normally the last generation).
    This is the hot path, so it runs two fixed statements on the driver's own cursor, without
    SQLAlchemy's per-statement compilation and result processing.
    """
    driver = conn.connection.driver_connection
    rows, found = history_rows(driver, conn.dialect.paramstyle, number)
    return rows, [_event_from_driver(row) for row in found]


def history_rows(
    driver: Any, paramstyle: str, number: str
) -> tuple[list[ItemRow], list[Sequence[Any]]]:
    """`item_history` on a DB-API connection, with the events as the driver's rows.

    Event rows hold `HISTORY_EVENT_FIELDS` in that order, `occurred_local` as the driver gives
    it (ISO text on SQLite, a datetime elsewhere; `local_dt` reads both). For callers that
    turn rows into answers directly, without an `Event` each (the API's fast path).
    """
    sql = _hot_sql(paramstyle)
    cursor = driver.cursor()
    try:
        cursor.execute(sql[0], (number,))
        rows = [_item_from_driver(row) for row in cursor.fetchall()]
        if not rows:
            return [], []
        current = max(rows, key=lambda item: (item.last_event_at, item.generation))
        cursor.execute(sql[1], (number, current.generation))
        found: list[Sequence[Any]] = cursor.fetchall()
    finally:
        cursor.close()
    return rows, found


#: The columns of the events `history_rows` returns, in order: all but the ingest time.
HISTORY_EVENT_FIELDS = _EVENT_FIELDS[:-1]


@lru_cache(maxsize=4)
def _hot_sql(paramstyle: str) -> tuple[str, str]:
    p = "?" if paramstyle == "qmark" else "%s"
    return (
        f"SELECT {', '.join(_ITEM_FIELDS)} FROM items WHERE number = {p} ORDER BY generation",
        # Everything the answer shows; not the ingest time, which it never does.
        f"SELECT {', '.join(HISTORY_EVENT_FIELDS)} FROM events "
        f"WHERE number = {p} AND generation = {p}",
    )


def _dt(value: datetime | str | None) -> datetime | None:
    """A datetime from the driver: SQLite hands back the ISO text SQLAlchemy wrote."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def _item_from_driver(row: Sequence[Any]) -> ItemRow:
    values = list(row)
    for i in (7, 8):
        values[i] = _dt(values[i])
    for i in (13, 14):
        values[i] = _utc_dt(values[i])
    return ItemRow(*values)


def _utc_dt(value: datetime | str) -> datetime:
    if isinstance(value, str):  # SQLite: the naive UTC text SQLAlchemy wrote
        return datetime.fromisoformat(value + "+00:00")
    return value


def events_from_rows(rows: Iterable[Sequence[Any]]) -> list[Event]:
    """The events of rows of `HISTORY_EVENT_FIELDS` (`history_rows`)."""
    return [_event_from_driver(row) for row in rows]


def local_dt(value: datetime | str) -> datetime:
    """`occurred_local` from the driver: SQLite hands back the naive ISO text written."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _event_from_driver(row: Sequence[Any], *, with_ingest_time: bool = False) -> Event:
    values = list(row)
    values[1] = local_dt(values[1])
    if with_ingest_time:
        values[16] = _utc_dt(values[16])
    return Event(*values)


_EVENTS_OF_ITEM = select(*_EVENT_COLUMNS).where(
    events.c.number == bindparam("number"), events.c.generation == bindparam("generation")
)


def events_of(conn: Connection, number: str, generation: int) -> list[Event]:
    """The events of one item, in storage order (callers order them)."""
    found = conn.execute(_EVENTS_OF_ITEM, {"number": number, "generation": generation}).all()
    return [event_from_row(row) for row in found]


def known_numbers(conn: Connection, candidates: Iterable[str]) -> set[str]:
    """Which of `candidates` the service has on record."""
    wanted = sorted(set(candidates))
    known: set[str] = set()
    for chunk in _chunks(wanted):
        query = select(items.c.number).where(items.c.number.in_(chunk)).distinct()
        known.update(conn.execute(query).scalars())
    return known


def numbers_with_prefix(conn: Connection, prefix: str, limit: int = 5) -> list[str]:
    """Numbers on record that start with `prefix` (for a number whose suffix was left off)."""
    query = (
        select(items.c.number)
        .where(items.c.number >= prefix, items.c.number < prefix + "\uffff")
        .distinct()
        .order_by(items.c.number)
        .limit(limit)
    )
    return list(conn.execute(query).scalars())


def count_items(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(items)).scalar_one())


def count_events(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(events)).scalar_one())


def sample_numbers(conn: Connection, status: str, limit: int = 1) -> list[str]:
    """A few numbers with a given status for the "try these" list, EMS (E…) numbers first."""
    found: list[str] = []
    for condition in (items.c.number.like("E%"), items.c.number.not_like("E%")):
        query = (
            select(items.c.number)
            .where(items.c.status == status, condition)
            .order_by(items.c.number)
            .limit(limit - len(found))
        )
        found.extend(conn.execute(query).scalars())
        if len(found) >= limit:
            break
    return found


_EVENT_WRITE_FIELDS = ("number", "generation", "dedupe_key", *_EVENT_FIELDS, "occurred_utc", "raw")
_ITEM_DATETIMES = tuple(
    i
    for i, name in enumerate(_ITEM_FIELDS)
    if name in ("first_event_at", "last_event_at", "created_at", "updated_at")
)


def event_row(
    number: str, generation: int, stored: StoredEvent, *, sqlite: bool = False
) -> tuple[Any, ...]:
    """The stored event as a row of `_EVENT_WRITE_FIELDS`, ready for the driver.

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
        ingested: Any = _sqlite_text(e.ingested_at)
    else:
        occurred, ingested = local, e.ingested_at
        utc = None
        if offset is not None:
            utc = (local - timedelta(minutes=offset)).replace(tzinfo=UTC)
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
        ingested,
        utc,
        raw,
    )


def _sqlite_text(value: datetime | None) -> str | None:
    # The text SQLAlchemy's SQLite DateTime type writes and reads (UTC when aware). A batch's
    # events share one ingest time: remember the last answer (cheaper than an lru_cache's hash;
    # one tuple, swapped whole, so that threads never see half of another's answer).
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


def _adapt(rows: Iterable[Sequence[Any]], positions: tuple[int, ...], sqlite: bool) -> list[Any]:
    if not sqlite:
        return [tuple(row) for row in rows]
    adapted = []
    for row in rows:
        values = list(row)
        for i in positions:
            values[i] = _sqlite_text(values[i])
        adapted.append(values)
    return adapted


_CONFLICT_FIELDS = ("number", "generation", "field", "value", "source", "first_seen_at")


@lru_cache(maxsize=4)
def _write_sql(paramstyle: str) -> dict[str, str]:
    p = "?" if paramstyle == "qmark" else "%s"

    def insert_into(table: str, names: Sequence[str]) -> str:
        return f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join([p] * len(names))})"

    def update_of(table: str, names: Sequence[str], keys: Sequence[str]) -> str:
        sets = ", ".join(f"{name} = {p}" for name in names)
        where = " AND ".join(f"{key} = {p}" for key in keys)
        return f"UPDATE {table} SET {sets} WHERE {where}"

    return {
        "insert_item": insert_into("items", _ITEM_FIELDS),
        "update_item": update_of("items", _ITEM_FIELDS[2:], _ITEM_FIELDS[:2]),
        "insert_event": insert_into("events", _EVENT_WRITE_FIELDS),
        "update_event": update_of("events", _EVENT_WRITE_FIELDS[3:], _EVENT_WRITE_FIELDS[:3]),
        "delete_events": f"DELETE FROM events WHERE number = {p} AND generation = {p}",
        "delete_item": f"DELETE FROM items WHERE number = {p} AND generation = {p}",
        "delete_conflicts": (f"DELETE FROM item_conflicts WHERE number = {p} AND generation = {p}"),
        # The first sighting of a conflicting value is kept; later ones add nothing.
        "insert_conflict": insert_into("item_conflicts", _CONFLICT_FIELDS)
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
    """Write one batch's changes; the caller owns the transaction. Event rows come from
    `event_row` for this connection's dialect.

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
            rows = _adapt((item.to_tuple() for item in new_items), _ITEM_DATETIMES, sqlite)
            cursor.executemany(sql["insert_item"], rows)
        if changed_items:
            rows = _adapt((item.to_tuple() for item in changed_items), _ITEM_DATETIMES, sqlite)
            cursor.executemany(sql["update_item"], [(*row[2:], *row[:2]) for row in rows])
        if new_events:
            cursor.executemany(sql["insert_event"], new_events)
        if changed_events:
            cursor.executemany(sql["update_event"], [(*r[3:], *r[:3]) for r in changed_events])
        if conflicts:
            rows = [
                (c.number, c.generation, c.field, c.value, c.source, c.first_seen_at)
                for c in conflicts
            ]
            cursor.executemany(sql["insert_conflict"], _adapt(rows, (5,), sqlite))
    finally:
        cursor.close()
