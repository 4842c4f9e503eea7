"""The read model: each number's lookup answer kept in one row, written with its events.

`item_answers` holds, per tracking number, what a lookup of it reads: every item of the number
(all generations, rows of `ITEM_FIELDS`) and the current item's events (rows of
`HISTORY_EVENT_FIELDS`), as one JSON document. It is language-independent and holds no "now":
the lookup (`lookup.fastpath`, `lookup.model`) makes either language's answer, and the page its
relative times, from it, exactly as from the two range reads of `events.history_rows`, whose
rows it holds in the same form (datetimes as SQLite's text, which `values.local_dt` and
`values.utc_dt` read on every dialect).

`version` goes up by one at every change of the number's items or events: the answer's strong
HTTP validator (`web.caching`). `refresh` is called by every writer of items and events
(`ingest.writer`: `record`, `write_fresh`, `remap`) inside its own transaction, after its
writes, so the row can never be older than the events it answers for; `backfill` fills the table
for a database made before it (migration 0007).

The row holds the private fields too (signatory, description, destination postcode) because
the operators' and the unlocked answers are made from it as well; it is read only by the
lookup, which shows them only to a viewer entitled to them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Final

import orjson
from sqlalchemy import Connection

from emstrack.store.events import HISTORY_EVENT_FIELDS
from emstrack.store.items import ITEM_DATETIMES, ITEM_FIELDS, ItemRow, item_from_driver
from emstrack.store.values import chunks, placeholder

#: The table's name (the partitioned tables' list names it too).
TABLE: Final = "item_answers"
#: The layout of `answer`'s document: bumped when it changes, with a migration that rewrites it.
FORMAT: Final = 1

_LOCAL = HISTORY_EVENT_FIELDS.index("occurred_local")
_FIELDS_SQL = (
    ", ".join(ITEM_FIELDS),
    ", ".join(HISTORY_EVENT_FIELDS),
)


def _text(value: Any) -> Any:
    """A datetime as SQLite's text of it (naive; UTC when aware); anything else as it is."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(" ", "microseconds")
    return value


def _document(items: Sequence[Sequence[Any]], events: Sequence[Sequence[Any]]) -> bytes:
    item_rows = []
    for row in items:
        values = list(row)
        for i in ITEM_DATETIMES:
            values[i] = _text(values[i])
        item_rows.append(values)
    event_rows = []
    for row in events:
        values = list(row)
        values[_LOCAL] = _text(values[_LOCAL])
        event_rows.append(values)
    return orjson.dumps({"f": FORMAT, "items": item_rows, "events": event_rows})


def current_generation(items: Sequence[Sequence[Any]]) -> int:
    """The current item's generation, as `events.history_rows` picks it, from rows of
    `ITEM_FIELDS`."""
    last_at = ITEM_FIELDS.index("last_event_at")
    best = max(items, key=lambda row: (_text(row[last_at]), row[1]))
    return int(best[1])


def document(items: Sequence[Sequence[Any]], events: Sequence[Sequence[Any]]) -> str:
    """A number's answer as `refresh` writes it: from its items (rows of `ITEM_FIELDS`, by
    generation) and its current item's events (rows of `HISTORY_EVENT_FIELDS`, in any order:
    the lookup orders them), for a writer that holds the rows it has just written
    (`staging.write_batch`)."""
    return _document(items, events).decode()


@lru_cache(maxsize=4)
def _sql(paramstyle: str) -> dict[str, str]:
    p = placeholder(paramstyle)
    return {
        "items": f"SELECT {_FIELDS_SQL[0]} FROM items WHERE number IN (%s) "
        "ORDER BY number, generation",
        "events": f"SELECT number, generation, {_FIELDS_SQL[1]} FROM events WHERE number IN (%s)",
        "upsert": f"INSERT INTO {TABLE} (number, version, answer, updated_at) "
        f"VALUES ({p}, 1, {p}, {p}) ON CONFLICT (number) DO UPDATE SET "
        f"version = {TABLE}.version + 1, answer = excluded.answer, "
        "updated_at = excluded.updated_at",
        "delete": f"DELETE FROM {TABLE} WHERE number = {p}",
        "read": f"SELECT version, answer, updated_at FROM {TABLE} WHERE number = {p}",
        "p": p,
    }


def refresh(conn: Connection, numbers: Iterable[str], now: datetime | None = None) -> int:
    """Write the answer rows of `numbers` from their items and events as this transaction sees
    them (call it after the writes, in the same transaction); the count written."""
    driver = conn.connection.driver_connection
    return refresh_driver(driver, conn.dialect.paramstyle, numbers, now)


def refresh_driver(
    driver: Any, paramstyle: str, numbers: Iterable[str], now: datetime | None = None
) -> int:
    """`refresh` on a DB-API connection (`paramstyle` `qmark`: SQLite's text datetimes)."""
    wanted = sorted(set(numbers))
    if not wanted:
        return 0
    sql = _sql(paramstyle)
    stamp = now or datetime.now(UTC)
    updated: Any = _text(stamp) if paramstyle == "qmark" else stamp
    cursor = driver.cursor()
    try:
        upserts: list[tuple[Any, ...]] = []
        deletes: list[tuple[str]] = []
        for chunk in chunks(wanted):
            marks = ", ".join([sql["p"]] * len(chunk))
            cursor.execute(sql["items"] % marks, tuple(chunk))
            items: dict[str, list[Sequence[Any]]] = defaultdict(list)
            for row in cursor.fetchall():
                items[row[0]].append(row)
            cursor.execute(sql["events"] % marks, tuple(chunk))
            events: dict[tuple[str, int], list[Sequence[Any]]] = defaultdict(list)
            for row in cursor.fetchall():
                events[(row[0], row[1])].append(row[2:])
            for number in chunk:
                found = items.get(number)
                if not found:
                    deletes.append((number,))
                    continue
                rows = events.get((number, current_generation(found)), [])
                upserts.append((number, _document(found, rows).decode(), updated))
        if deletes:
            cursor.executemany(sql["delete"], deletes)
        if upserts:
            cursor.executemany(sql["upsert"], upserts)
    finally:
        cursor.close()
    return len(upserts)


def backfill(conn: Connection, batch: int = 2000) -> int:
    """Write the answer row of every number that has items (a database made before the read
    model, or one whose rows were loaded around the writer); the count written."""
    driver: Any = conn.connection.driver_connection
    cursor = driver.cursor()
    try:
        cursor.execute("SELECT DISTINCT number FROM items ORDER BY number")
        numbers = [row[0] for row in cursor.fetchall()]
    finally:
        cursor.close()
    done = 0
    for start in range(0, len(numbers), batch):
        done += refresh_driver(driver, conn.dialect.paramstyle, numbers[start : start + batch])
    return done


#: A number's answer row as the lookup reads it: its version, when it was written (naive UTC
#: text, part of the validator) and what `events.history_rows` would have read.
AnswerRow = tuple[int, str, list[ItemRow], list[Sequence[Any]]]


def answer_row(driver: Any, paramstyle: str, number: str) -> AnswerRow | None:
    """The lookup's one read, by primary key, on a DB-API connection (`Database.raw_reader`):
    the number's answer row, or None when the number has no item."""
    cursor = driver.cursor()
    try:
        cursor.execute(_sql(paramstyle)["read"], (number,))
        row = cursor.fetchone()
    finally:
        cursor.close()
    return None if row is None else answer_of(row)


def read_sql(paramstyle: str) -> str:
    """The lookup's read of one number's row (`answer_row`), for a driver of `paramstyle`."""
    return _sql(paramstyle)["read"]


def answer_of(row: Sequence[Any]) -> AnswerRow:
    """The lookup's answer row from the row its read returned (`read_sql`)."""
    version, answer, updated = row
    doc = orjson.loads(answer)
    items = [item_from_driver(values) for values in doc["items"]]
    return int(version), str(_text(updated)), items, doc["events"]
