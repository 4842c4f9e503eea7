"""Reads and writes of items and events. Rows go in and out as our domain values.

SQLite hands back aware-column datetimes naive (it has no time-zone type): those are UTC by
construction, and `_aware` says so once, here.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from emstrack.domain.events import Event
from emstrack.store.schema import events, items

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

    @classmethod
    def from_row(cls, row: Any) -> ItemRow:
        values = dict(row._mapping)
        values["created_at"] = _aware(values["created_at"])
        values["updated_at"] = _aware(values["updated_at"])
        return cls(**values)

    def to_row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _ITEM_FIELDS}


@dataclass(slots=True)
class StoredEvent:
    """An event as stored: the value, its key, and every payload that delivered it."""

    key: str
    event: Event
    raw: list[Any] = field(default_factory=list)


def event_from_row(row: Sequence[Any]) -> Event:
    """An `Event` from a row selected with the columns of `_EVENT_COLUMNS`, in that order."""
    values = dict(zip(_EVENT_FIELDS, row, strict=True))
    values["ingested_at"] = _aware(values["ingested_at"])
    return Event(**values)


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
    """Every stored event of each number, by (number, generation) and then by dedupe key."""
    found: dict[tuple[str, int], dict[str, StoredEvent]] = defaultdict(dict)
    for chunk in _chunks(numbers):
        query = select(
            events.c.number, events.c.generation, events.c.dedupe_key, events.c.raw, *_EVENT_COLUMNS
        ).where(events.c.number.in_(chunk))
        for row in conn.execute(query):
            number, generation, key, raw = row[0], row[1], row[2], row[3]
            found[(number, generation)][key] = StoredEvent(
                key, event_from_row(row[4:]), json.loads(raw)
            )
    return found


def item_history(conn: Connection, number: str) -> tuple[list[ItemRow], list[Event]]:
    """The lookup's two range reads: every item of `number`, and the current item's events.

    The current item is the one whose latest event is newest (normally the last generation).
    """
    rows = [
        ItemRow.from_row(row) for row in conn.execute(_ITEMS_OF_NUMBER, {"number": number}).all()
    ]
    if not rows:
        return [], []
    current = max(rows, key=lambda item: (item.last_event_at, item.generation))
    found = conn.execute(
        _EVENTS_OF_ITEM, {"number": number, "generation": current.generation}
    ).all()
    return rows, [event_from_row(row) for row in found]


_ITEMS_OF_NUMBER = (
    select(*[items.c[name] for name in _ITEM_FIELDS])
    .where(items.c.number == bindparam("number"))
    .order_by(items.c.generation)
)
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
    """A few current numbers with a given status, for the demo's "try these" list."""
    query = (
        select(items.c.number).where(items.c.status == status).order_by(items.c.number).limit(limit)
    )
    return list(conn.execute(query).scalars())


def event_row(number: str, generation: int, stored: StoredEvent) -> dict[str, Any]:
    e = stored.event
    row = {name: getattr(e, name) for name in _EVENT_FIELDS}
    row.update(
        number=number,
        generation=generation,
        dedupe_key=stored.key,
        occurred_utc=e.occurred_utc,
        raw=json.dumps(stored.raw, ensure_ascii=False, separators=(",", ":"), default=str),
    )
    return row


def write_changes(
    conn: Connection,
    *,
    new_items: list[ItemRow],
    changed_items: list[ItemRow],
    new_events: list[dict[str, Any]],
    changed_events: list[dict[str, Any]],
) -> None:
    """Write one batch's changes; the caller owns the transaction."""
    if new_items:
        conn.execute(insert(items), [item.to_row() for item in new_items])
    if changed_items:
        conn.execute(_UPDATE_ITEM, [_keyed(item.to_row()) for item in changed_items])
    if new_events:
        conn.execute(insert(events), new_events)
    if changed_events:
        conn.execute(_UPDATE_EVENT, [_keyed(row) for row in changed_events])


def _keyed(row: dict[str, Any]) -> dict[str, Any]:
    # Bind names of the WHERE clause must differ from the column names being SET.
    out = dict(row)
    out["k_number"] = out.pop("number")
    out["k_generation"] = out.pop("generation")
    if "dedupe_key" in out:
        out["k_dedupe_key"] = out.pop("dedupe_key")
    return out


_UPDATE_ITEM = (
    update(items)
    .where(
        items.c.number == bindparam("k_number"),
        items.c.generation == bindparam("k_generation"),
    )
    .values({name: bindparam(name) for name in _ITEM_FIELDS[2:]})
)
_UPDATE_EVENT = (
    update(events)
    .where(
        events.c.number == bindparam("k_number"),
        events.c.generation == bindparam("k_generation"),
        events.c.dedupe_key == bindparam("k_dedupe_key"),
    )
    .values({name: bindparam(name) for name in (*_EVENT_FIELDS, "occurred_utc", "raw")})
)
