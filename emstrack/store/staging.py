"""The import's bulk write on PostgreSQL: a batch sent with `COPY` into staging tables, then moved
by set-based statements, all in the batch's one transaction.

`write_changes` sends a batch row by row (`executemany`, pipelined): on PostgreSQL each row is
still a statement to parse, plan and run. Here the rows travel as one `COPY … FROM STDIN` per
table into temporary tables made for the transaction (`ON COMMIT DROP`: nothing outlives it, a
rollback or a killed process leaves nothing behind), and a few statements move them:

- items: `INSERT … SELECT … ON CONFLICT (number, generation) DO UPDATE` (new and changed items
  in one statement);
- new events: `INSERT … SELECT … ON CONFLICT DO NOTHING` on the dedupe key, and every row must
  go in: the writer has read the numbers' events under their locks (`items.lock_numbers`) and
  counted duplicates itself, so a row the database already holds means that guarantee broke,
  and the batch is rolled back rather than miscounted;
- changed events (a duplicate that filled in detail): `UPDATE … FROM` the staging table;
- the read model (`answers`): each touched number's document, made by the writer from the rows
  it has just written, upserted with its version raised by one as `answers.refresh` does.

Items merged away and attribute conflicts are rare and keep `events.write_changes`' statements.
SQLite keeps `write_changes` and `answers.refresh`: its inserts are already in process.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection

from emstrack.store.answers import PAGES, PUBLIC
from emstrack.store.answers import TABLE as ANSWERS
from emstrack.store.events import EVENT_WRITE_FIELDS, write_changes
from emstrack.store.items import ITEM_FIELDS, Conflict, ItemRow

_EVENT_KEY: Final = EVENT_WRITE_FIELDS[:3]
_ITEM_KEY: Final = ITEM_FIELDS[:2]


class StagingError(RuntimeError):
    """The database already held a row the writer had not seen: the batch is not stored."""


def prepare(conn: Connection) -> None:
    """Settings for the rest of this transaction, before the batch's reads.

    The writer reads the events and items of a few thousand numbers by their key. An import
    grows those tables faster than their statistics follow (before autovacuum's next ANALYZE, or
    without it): the planner then takes a table of millions of rows for a small one and scans
    all of it for every chunk of numbers, which made the import slower with every batch. The
    primary keys serve every statement of the batch, so sequential scans are left for the
    staging tables, which have nothing else.
    """
    driver: Any = conn.connection.driver_connection
    driver.execute("SET LOCAL enable_seqscan = off")


def _names(columns: Sequence[str], prefix: str = "") -> str:
    return ", ".join(prefix + name for name in columns)


#: The kept public answers' columns a batch sends (the version is the written row's).
_PUBLIC_COLUMNS = ("number", "version", "stamp", "public_en", "public_zh")

#: The database types of the columns sent, by (table, columns): binary `COPY` needs them, and
#: the schema does not change under a running process.
_TYPES: dict[tuple[str, tuple[str, ...]], list[str]] = {}


def _types(cursor: Any, table: str, columns: tuple[str, ...]) -> list[str]:
    found = _TYPES.get((table, columns))
    if found is None:
        cursor.execute(
            "SELECT attname, atttypid::regtype::text FROM pg_attribute "
            "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
            (table,),
        )
        named = dict(cursor.fetchall())
        found = _TYPES[(table, columns)] = [named[name] for name in columns]
    return found


def _stage(
    driver: Any, name: str, like: str, columns: tuple[str, ...], rows: Sequence[Any]
) -> None:
    """A temporary table `name` shaped like `like`, holding `rows` (of `columns`), sent with
    binary `COPY` (several times less work here than the text form)."""
    with driver.cursor() as cursor:
        types = _types(cursor, like, columns)
        cursor.execute(f"CREATE TEMP TABLE {name} (LIKE {like} INCLUDING DEFAULTS) ON COMMIT DROP")
        with cursor.copy(f"COPY {name} ({_names(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(types)
            for row in rows:
                copy.write_row(row)


def write_batch(
    conn: Connection,
    *,
    deleted_items: Sequence[tuple[str, int]],
    items: Sequence[ItemRow],
    new_events: Sequence[Sequence[Any]],
    changed_events: Sequence[Sequence[Any]],
    conflicts: Sequence[Conflict],
    answers: Sequence[tuple[str, str, str | None, str | None, str | None]],
    no_answers: Sequence[str],
    now: datetime,
    due: bool = True,
) -> None:
    """Write one batch's changes (PostgreSQL), in the caller's transaction.

    `items`: new and changed items; event rows come from `events.event_row` (not SQLite's);
    `answers`: (number, document, stamp, English, Chinese public answers) of every number whose
    answer changed (`answers.document`, `answers.bodies_of`),
    `no_answers` the numbers left without items, whose rows go.
    """
    driver: Any = conn.connection.driver_connection
    if deleted_items:
        # Items merged into another: their events and conflicts go, and come back in the target.
        write_changes(
            conn,
            deleted_items=deleted_items,
            new_items=[],
            changed_items=[],
            new_events=[],
            changed_events=[],
        )
    with driver.cursor() as cursor:
        if items:
            _stage(driver, "stage_items", "items", ITEM_FIELDS, [i.to_tuple() for i in items])
            updates = ", ".join(f"{name} = excluded.{name}" for name in ITEM_FIELDS[2:])
            cursor.execute(
                f"INSERT INTO items ({_names(ITEM_FIELDS)}) "
                f"SELECT {_names(ITEM_FIELDS)} FROM stage_items "
                f"ON CONFLICT ({_names(_ITEM_KEY)}) DO UPDATE SET {updates}"
            )
        if new_events:
            _stage(driver, "stage_events", "events", EVENT_WRITE_FIELDS, new_events)
            cursor.execute(
                f"INSERT INTO events ({_names(EVENT_WRITE_FIELDS)}) "
                f"SELECT {_names(EVENT_WRITE_FIELDS)} FROM stage_events "
                f"ON CONFLICT ({_names(_EVENT_KEY)}) DO NOTHING"
            )
            if cursor.rowcount != len(new_events):
                raise StagingError(
                    f"{len(new_events) - cursor.rowcount} of {len(new_events)} new events were "
                    "already stored: another writer did not hold the numbers' locks"
                )
        if changed_events:
            _stage(driver, "stage_changed", "events", EVENT_WRITE_FIELDS, changed_events)
            sets = ", ".join(f"{name} = s.{name}" for name in EVENT_WRITE_FIELDS[3:])
            match = " AND ".join(f"e.{name} = s.{name}" for name in _EVENT_KEY)
            cursor.execute(f"UPDATE events AS e SET {sets} FROM stage_changed AS s WHERE {match}")
        if conflicts:
            write_changes(
                conn,
                new_items=[],
                changed_items=[],
                new_events=[],
                changed_events=[],
                conflicts=conflicts,
            )
        if no_answers:
            cursor.execute(f"DELETE FROM {ANSWERS} WHERE number = ANY(%s)", (list(no_answers),))
            cursor.execute(f"DELETE FROM {PUBLIC} WHERE number = ANY(%s)", (list(no_answers),))
            cursor.execute(f"DELETE FROM {PAGES} WHERE number = ANY(%s)", (list(no_answers),))
        if answers:
            _stage(
                driver,
                "stage_answers",
                ANSWERS,
                ("number", "version", "answer", "updated_at", "page_due"),
                [(number, 1, answer, now, due) for number, answer, *_ in answers],
            )
            cursor.execute(
                f"INSERT INTO {ANSWERS} (number, version, answer, updated_at, page_due) "
                f"SELECT number, version, answer, updated_at, page_due FROM stage_answers "
                f"ON CONFLICT (number) DO UPDATE SET version = {ANSWERS}.version + 1, "
                "answer = excluded.answer, updated_at = excluded.updated_at, "
                f"page_due = excluded.page_due OR {ANSWERS}.page_due"
            )
            # Their public answers, for the versions just written; the old ones of those whose
            # answers were not made go.
            kept = [(n, 0, stamp, en, zh) for n, _, stamp, en, zh in answers if stamp]
            unkept = [n for n, _, stamp, _, _ in answers if not stamp]
            if unkept:
                cursor.execute(f"DELETE FROM {PUBLIC} WHERE number = ANY(%s)", (unkept,))
            if kept:
                _stage(driver, "stage_public", PUBLIC, _PUBLIC_COLUMNS, kept)
                cursor.execute(
                    f"INSERT INTO {PUBLIC} ({_names(_PUBLIC_COLUMNS)}) "
                    "SELECT s.number, a.version, s.stamp, s.public_en, s.public_zh "
                    f"FROM stage_public s JOIN {ANSWERS} a ON a.number = s.number "
                    "ON CONFLICT (number) DO UPDATE SET version = excluded.version, "
                    "stamp = excluded.stamp, public_en = excluded.public_en, "
                    "public_zh = excluded.public_zh"
                )
