"""The items table and its conflicts: an item is a tracking number in one generation.

Reads of items through SQLAlchemy, and `item_from_driver` for the hot paths that read rows of
`ITEM_FIELDS` on the driver's own cursor (`emstrack.store.events.history_rows`).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from operator import attrgetter
from typing import Any, Final

from sqlalchemy import Connection, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY, INTEGER

from emstrack.store.schema import item_conflicts, items
from emstrack.store.values import aware, chunks, local_dt, utc_dt


@dataclass(slots=True)
class ItemRow:
    """One item: a tracking number in one generation, with what is known of it.

    Its fields are the columns of `items`, in the order of `ITEM_FIELDS`.
    """

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
        """From a SQLAlchemy row of `ITEM_FIELDS`."""
        values = dict(row._mapping)
        values["created_at"] = aware(values["created_at"])
        values["updated_at"] = aware(values["updated_at"])
        return cls(**values)

    def to_tuple(self) -> tuple[Any, ...]:
        """The values of `ITEM_FIELDS`, in order."""
        values: tuple[Any, ...] = _item_values(self)
        return values


#: The columns of `items` as `ItemRow` holds them: rows of them, in this order, are an
#: `ItemRow`'s positional arguments.
ITEM_FIELDS: Final[tuple[str, ...]] = tuple(f.name for f in fields(ItemRow))
_item_values = attrgetter(*ITEM_FIELDS)
#: Where `ITEM_FIELDS` has its naive (local wall-time) and its aware (UTC) datetimes.
_LOCAL_TIMES = tuple(ITEM_FIELDS.index(name) for name in ("first_event_at", "last_event_at"))
_UTC_TIMES = tuple(ITEM_FIELDS.index(name) for name in ("created_at", "updated_at"))
ITEM_DATETIMES: Final[tuple[int, ...]] = tuple(sorted(_LOCAL_TIMES + _UTC_TIMES))


def item_from_driver(row: Sequence[Any]) -> ItemRow:
    """An `ItemRow` from a driver's row of `ITEM_FIELDS` (SQLite's datetimes are text)."""
    values = list(row)
    for i in _LOCAL_TIMES:
        values[i] = local_dt(values[i])
    for i in _UTC_TIMES:
        values[i] = utc_dt(values[i])
    return ItemRow(*values)


def items_for(conn: Connection, numbers: Sequence[str]) -> dict[str, list[ItemRow]]:
    """Every item (all generations) of each number, oldest generation first."""
    found: dict[str, list[ItemRow]] = defaultdict(list)
    for chunk in chunks(numbers):
        query = (
            select(*[items.c[name] for name in ITEM_FIELDS])
            .where(items.c.number.in_(chunk))
            .order_by(items.c.number, items.c.generation)
        )
        for row in conn.execute(query):
            found[row.number].append(ItemRow.from_row(row))
    return found


#: Writers lock numbers by bucket (a hash of the number), so that a batch of thousands of
#: numbers takes at most this many of PostgreSQL's advisory locks, which share one fixed table
#: (`max_locks_per_transaction` times the connections). Numbers of one bucket wait on each other.
LOCK_BUCKETS: Final = 256
#: The first key of the writers' advisory locks ("EMST"): other users of advisory locks pick
#: other first keys.
_LOCK_SPACE: Final = 0x454D5354


def _bucket(number: str) -> int:
    digest = hashlib.blake2b(number.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % LOCK_BUCKETS


_LOCK = text(
    "SELECT count(pg_advisory_xact_lock(:space, k)) "
    "FROM (SELECT unnest(:keys) AS k ORDER BY 1) AS buckets"
).bindparams(bindparam("keys", type_=ARRAY(INTEGER)), bindparam("space", type_=INTEGER))


def lock_numbers(conn: Connection, numbers: Iterable[str]) -> None:
    """Hold the numbers until the transaction ends, so that writers of the same numbers take
    turns (the writer reads a number's items and events, then writes them back: two at once
    would each miss the other's events, or insert the same new item).

    On PostgreSQL: a transaction-scoped advisory lock per bucket of numbers, taken in one order
    so that two writers never wait on each other in a circle. On SQLite the write transaction
    already holds the database's one write lock (`BEGIN IMMEDIATE`): nothing to do.
    """
    if conn.dialect.name != "postgresql":
        return
    keys = sorted({_bucket(number) for number in numbers})
    if keys:
        conn.execute(_LOCK, {"space": _LOCK_SPACE, "keys": keys})


def known_numbers(conn: Connection, candidates: Iterable[str]) -> set[str]:
    """Which of `candidates` the service has on record."""
    wanted = sorted(set(candidates))
    known: set[str] = set()
    for chunk in chunks(wanted):
        query = select(items.c.number).where(items.c.number.in_(chunk)).distinct()
        known.update(conn.execute(query).scalars())
    return known


def count_items(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(items)).scalar_one())


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


@dataclass(frozen=True, slots=True)
class Conflict:
    """A value of an item's attribute that disagrees with the one the item kept."""

    number: str
    generation: int
    field: str
    value: str
    source: str | None
    first_seen_at: datetime


#: The columns of `item_conflicts`, as `Conflict` holds them.
CONFLICT_FIELDS: Final[tuple[str, ...]] = tuple(f.name for f in fields(Conflict))


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
        values["first_seen_at"] = aware(values["first_seen_at"])
        found.append(Conflict(**values))
    return found
