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

**The public answers.** Beside the rows, `item_public_answers` keeps the found item's public
JSON answer in English and Chinese (`public_en`, `public_zh`) for the row's `version`: the bytes
`GET /api/v1/tracking/{n}` sends, made by the writer in the same transaction with the lookup's
own code, which the database hands in (`Database.render_answers`, a `Render`: `lookup.bodies`),
and `stamp`, what they were made with (the release, its code and data, the settings that change
an answer). A table of its own: the reads of the rows alone (a page, a chat, a private answer)
stay as small as before. The lookup sends them only when they are of the row's version and
their stamp is its own; otherwise, and where none were made (no renderer, a number whose answer
carries notes, a renderer that failed), it makes the answer from the rows as before. So the
bodies never make an answer wrong, only a lookup cheaper; `rerender` makes them again after a
release (`emstrack db refresh-answers`). A renderer that fails never fails the
write: its number simply has no bodies.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Final, Protocol

import orjson
from sqlalchemy import Connection

from emstrack.store.events import HISTORY_EVENT_FIELDS
from emstrack.store.items import ITEM_DATETIMES, ITEM_FIELDS, ItemRow, item_from_driver
from emstrack.store.values import chunks, placeholder

#: The table's name (the partitioned tables' list names it too).
TABLE: Final = "item_answers"
#: The layout of `answer`'s document: bumped when it changes, with a migration that rewrites it.
FORMAT: Final = 1

log = logging.getLogger(__name__)

#: A found number's public answers: (stamp, English body, Chinese body), JSON text; the bodies
#: None where the answer is not kept (the lookup then makes it from the rows each time).
Bodies = tuple[str, str | None, str | None]


class Render(Protocol):
    """Makes a number's public answers from its read-model document (`document`), with
    `stamp`, what they are made with: `lookup.bodies.PublicBodies`."""

    stamp: str

    def __call__(self, number: str, document: str) -> Bodies: ...


#: No bodies: (stamp, English, Chinese) all NULL.
NO_BODIES: Final[tuple[None, None, None]] = (None, None, None)

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


def bodies_of(
    render: Render | None, number: str, document: str
) -> Bodies | tuple[None, None, None]:
    """The public answers `render` makes of `number`'s `document`, or `NO_BODIES` (no renderer,
    none kept for it, or the renderer failed: the write goes on, the lookup makes the answer)."""
    if render is None:
        return NO_BODIES
    try:
        return render(number, document)
    except Exception:  # a bug in making an answer must never lose the events being written
        log.exception("the public answers of %s could not be made; the lookup will", number)
        return NO_BODIES


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


#: What a lookup's read takes besides the rows (`AnswerRow`), by what it wants: the rows alone
#: (a page, a chat, a private answer), with the kept answer in one language, or with the kept
#: page in one language (`store.pages`).
WANTS: Final = ("rows", "en", "zh", "page_en", "page_zh")
#: The table of the kept public answers (its own: the reads of the rows alone stay small).
PUBLIC: Final = "item_public_answers"
#: The table of the kept public pages (`store.pages`).
PAGES: Final = "item_pages"


def _read(want: str, p: str) -> str:
    if want == "rows":
        return f"SELECT version, answer, updated_at FROM {TABLE} WHERE number = {p}"
    if want.startswith("page_"):
        # The kept page only where it was made for the row's version.
        return (
            f"SELECT a.version, a.answer, a.updated_at, k.stamp, k.{want} FROM {TABLE} a "
            f"LEFT JOIN {PAGES} k ON k.number = a.number AND k.version = a.version "
            f"WHERE a.number = {p}"
        )
    # The kept answer only where it was made for the row's version.
    return (
        f"SELECT a.version, a.answer, a.updated_at, k.stamp, k.public_{want} FROM {TABLE} a "
        f"LEFT JOIN {PUBLIC} k ON k.number = a.number AND k.version = a.version "
        f"WHERE a.number = {p}"
    )


def _stale(p: str) -> str:
    """The rows without public answers made with the stamp (the first parameter) for their
    version: the `FROM … WHERE` of a query, to which more conditions may be added."""
    return (
        f"FROM {TABLE} a LEFT JOIN {PUBLIC} k ON k.number = a.number "
        f"AND k.version = a.version AND k.stamp = {p} WHERE k.number IS NULL"
    )


@lru_cache(maxsize=4)
def _sql(paramstyle: str) -> dict[str, str]:
    p = placeholder(paramstyle)
    return {
        "items": f"SELECT {_FIELDS_SQL[0]} FROM items WHERE number IN (%s) "
        "ORDER BY number, generation",
        "events": f"SELECT number, generation, {_FIELDS_SQL[1]} FROM events WHERE number IN (%s)",
        "upsert": f"INSERT INTO {TABLE} (number, version, answer, updated_at, page_due) "
        f"VALUES ({p}, 1, {p}, {p}, {p}) ON CONFLICT (number) DO UPDATE SET "
        f"version = {TABLE}.version + 1, answer = excluded.answer, "
        f"updated_at = excluded.updated_at, page_due = excluded.page_due OR {TABLE}.page_due",
        "delete": f"DELETE FROM {TABLE} WHERE number = {p}",
        **{f"read_{want}": _read(want, p) for want in WANTS},
        # The public answers of a number's current row (of the version `version`, when given).
        "keep": f"INSERT INTO {PUBLIC} (number, version, stamp, public_en, public_zh) "
        f"SELECT number, version, {p}, {p}, {p} FROM {TABLE} WHERE number = {p} "
        f"AND version = coalesce({p}, version) ON CONFLICT (number) DO UPDATE SET "
        "version = excluded.version, stamp = excluded.stamp, "
        "public_en = excluded.public_en, public_zh = excluded.public_zh",
        "unkeep": f"DELETE FROM {PUBLIC} WHERE number = {p}",
        "unpage": f"DELETE FROM {PAGES} WHERE number = {p}",
        # Rows whose public answers were not made with this stamp for their version.
        "stale": f"SELECT a.number, a.version, a.answer {_stale(p)} "
        f"AND a.number > {p} ORDER BY a.number LIMIT {p}",
        "stale_count": f"SELECT count(*) {_stale(p)}",
        "p": p,
    }


def _keep(cursor: Any, sql: dict[str, str], rows: Sequence[tuple[Any, ...]]) -> None:
    """Write the public answers of `rows` (number, version or None, stamp, English, Chinese):
    kept where made (stamp not None), their old ones removed where not."""
    keep = [(stamp, en, zh, number, version) for number, version, stamp, en, zh in rows if stamp]
    drop = [(number,) for number, _, stamp, _, _ in rows if not stamp]
    if drop:
        cursor.executemany(sql["unkeep"], drop)
    if keep:
        cursor.executemany(sql["keep"], keep)


def refresh(
    conn: Connection,
    numbers: Iterable[str],
    now: datetime | None = None,
    render: Render | None = None,
    due: bool = True,
) -> int:
    """Write the answer rows of `numbers` from their items and events as this transaction sees
    them (call it after the writes, in the same transaction), with their public answers where
    `render` makes them, each row marked due for its kept pages where `due` (`store.pages`);
    the count written."""
    driver = conn.connection.driver_connection
    return refresh_driver(driver, conn.dialect.paramstyle, numbers, now, render, due)


def refresh_driver(
    driver: Any,
    paramstyle: str,
    numbers: Iterable[str],
    now: datetime | None = None,
    render: Render | None = None,
    due: bool = True,
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
        kept: list[tuple[Any, ...]] = []
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
                doc = _document(found, rows).decode()
                upserts.append((number, doc, updated, due))
                kept.append((number, None, *bodies_of(render, number, doc)))
        if deletes:
            cursor.executemany(sql["delete"], deletes)
            cursor.executemany(sql["unkeep"], deletes)
            cursor.executemany(sql["unpage"], deletes)
        if upserts:
            cursor.executemany(sql["upsert"], upserts)
            _keep(cursor, sql, kept)
    finally:
        cursor.close()
    return len(upserts)


def rerender(
    conn: Connection, render: Render, after: str = "", batch: int = 500
) -> tuple[int, str | None]:
    """Make the public answers again of the next `batch` rows after the number `after` that
    have none made with `render.stamp` (by another release or settings, or never): (rows done,
    the last number, None when there were none left). Call it in a transaction of its own per
    step. The rows' versions stay: where an answer was made does not change its bytes; a row
    written meanwhile is skipped (its writer made its answers)."""
    driver: Any = conn.connection.driver_connection
    sql = _sql(conn.dialect.paramstyle)
    cursor = driver.cursor()
    try:
        cursor.execute(sql["stale"], (render.stamp, after, batch))
        rows = cursor.fetchall()
        if not rows:
            return 0, None
        made = [
            (number, version, *bodies_of(render, number, answer))
            for number, version, answer in rows
        ]
        _keep(cursor, sql, made)
    finally:
        cursor.close()
    return len(rows), str(rows[-1][0])


def render_numbers(conn: Connection, render: Render, numbers: Sequence[str]) -> int:
    """Make the public answers of those of `numbers` whose row has none made with
    `render.stamp`; how many were made. A row keeps its version (as `rerender`)."""
    if not numbers:
        return 0
    driver: Any = conn.connection.driver_connection
    p = placeholder(conn.dialect.paramstyle)
    sql = _sql(conn.dialect.paramstyle)
    cursor = driver.cursor()
    try:
        marks = ", ".join([p] * len(numbers))
        cursor.execute(
            f"SELECT a.number, a.version, a.answer {_stale(p)} AND a.number IN ({marks})",
            (render.stamp, *numbers),
        )
        made = [
            (number, version, *bodies_of(render, number, answer))
            for number, version, answer in cursor.fetchall()
        ]
        _keep(cursor, sql, made)
    finally:
        cursor.close()
    return len(made)


def forget(conn: Connection, after: str = "", batch: int = 500) -> tuple[int, str | None]:
    """Remove the public answers of the next `batch` numbers after `after` that keep some:
    (numbers done, the last number, None when there were none left). A step per
    transaction, as `rerender`."""
    driver: Any = conn.connection.driver_connection
    p = placeholder(conn.dialect.paramstyle)
    cursor = driver.cursor()
    try:
        cursor.execute(
            f"SELECT number FROM {PUBLIC} WHERE number > {p} ORDER BY number LIMIT {p}",
            (after, batch),
        )
        numbers = [row[0] for row in cursor.fetchall()]
        if not numbers:
            return 0, None
        cursor.executemany(f"DELETE FROM {PUBLIC} WHERE number = {p}", [(n,) for n in numbers])
    finally:
        cursor.close()
    return len(numbers), str(numbers[-1])


def count(conn: Connection, sql: str, params: tuple[Any, ...] = ()) -> int:
    """The one number `sql` selects (a `count(*)`)."""
    driver: Any = conn.connection.driver_connection
    cursor = driver.cursor()
    try:
        cursor.execute(sql, params)
        (count,) = cursor.fetchone()
    finally:
        cursor.close()
    return int(count)


def kept_count(conn: Connection) -> int:
    """How many numbers keep public answers (of any stamp)."""
    return count(conn, f"SELECT count(*) FROM {PUBLIC}")


def stale_count(conn: Connection, stamp: str) -> int:
    """How many rows have no public answers made with `stamp` for their version."""
    return count(conn, _sql(conn.dialect.paramstyle)["stale_count"], (stamp,))


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


@dataclass(frozen=True, slots=True)
class AnswerRow:
    """A number's answer row as the lookup reads it: its version, when it was written (naive
    UTC text; both make the validator), the document of its rows (read on demand: `rows`), and
    where it was read with one (`WANTS`), the kept public answer in that language with the
    stamp it was made with."""

    version: int
    updated: str
    document: str
    stamp: str | None = None
    lang: str | None = None
    kept: str | bytes | None = None

    @property
    def validator(self) -> str:
        return f"{self.version}.{self.updated}"

    def rows(self) -> tuple[list[ItemRow], list[Sequence[Any]]]:
        """What `events.history_rows` would have read: the items, the current item's events."""
        doc = orjson.loads(self.document)
        return [item_from_driver(values) for values in doc["items"]], doc["events"]

    def public(self, lang: str, stamp: str) -> str | None:
        """The public answer in `lang` ("en" or "zh") where it was read and made with `stamp`."""
        if self.lang != lang or self.stamp != stamp or not isinstance(self.kept, str):
            return None
        return self.kept

    def page(self, lang: str, stamp: str) -> bytes | None:
        """The kept page in `lang` ("en" or "zh") where it was read and made with `stamp`
        (`store.pages`: compressed, its relative times left out)."""
        if self.lang != f"page_{lang}" or self.stamp != stamp or self.kept is None:
            return None
        return None if isinstance(self.kept, str) else bytes(self.kept)


def answer_row(driver: Any, paramstyle: str, number: str, want: str = "rows") -> AnswerRow | None:
    """The lookup's one read, by primary key, on a DB-API connection (`Database.raw_reader`):
    the number's answer row (with what `want` names, `WANTS`), or None when the number has no
    item."""
    cursor = driver.cursor()
    try:
        cursor.execute(_sql(paramstyle)[f"read_{want}"], (number,))
        row = cursor.fetchone()
    finally:
        cursor.close()
    return None if row is None else answer_of(row, want)


def read_sql(paramstyle: str, want: str = "rows") -> str:
    """The lookup's read of one number's row (`answer_row`), for a driver of `paramstyle`."""
    return _sql(paramstyle)[f"read_{want}"]


def answer_of(row: Sequence[Any], want: str = "rows") -> AnswerRow:
    """The lookup's answer row from the row its read of `want` returned (`read_sql`)."""
    if want == "rows":
        version, answer, updated = row
        return AnswerRow(int(version), str(_text(updated)), answer)
    version, answer, updated, stamp, kept = row
    return AnswerRow(int(version), str(_text(updated)), answer, stamp, want, kept)
