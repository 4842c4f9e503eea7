"""The kept public pages: each found item's public page in English and Chinese, made in the
background by the page keeper (`web.keptpages`), sent by the item page's route.

A found item's page is the same bytes for everyone who asks for it by its number, in one
language, at one minute, until its next scan. Drawing it costs several times a JSON answer, and
too much to do inside every write (the file import would lose half its speed), so the writers
only mark the number's row of the read model as due (`item_answers.page_due`, set by every
write of the row, `store.answers`), and the keeper (`emstrack worker`, `emstrack serve
--worker`) makes the due rows' pages a batch at a time (`due`, then `store`) into `item_pages`:
for the row's version, with `stamp` (what the page was made with). A page read joins the kept
page of its language for the row's version (`answers.WANTS`), so a page made for an older
version, or with another stamp, is never sent; until the keeper has caught up, the page is
drawn from the rows as before.

The keeper clears a row's mark only for the version it made the pages of: a row written again
meanwhile stays due. Several keepers may run at once; a number made twice is made the same,
and an older version never overwrites a newer one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import Connection

from emstrack.store.answers import PAGES, TABLE, count
from emstrack.store.values import placeholder

#: A row's pages as the keeper made them: (number, version, stamp or None when it keeps none,
#: English, Chinese).
Made = tuple[str, int, str | None, bytes | None, bytes | None]

_COLUMNS: Final = "number, version, stamp, page_en, page_zh"


def _cursor(conn: Connection) -> tuple[Any, str]:
    driver: Any = conn.connection.driver_connection
    return driver.cursor(), placeholder(conn.dialect.paramstyle)


def due(conn: Connection, after: str = "", batch: int = 100) -> list[tuple[str, int, str]]:
    """The next `batch` rows after the number `after` whose pages are due: (number, version,
    the read model's document)."""
    cursor, p = _cursor(conn)
    try:
        cursor.execute(
            f"SELECT number, version, answer FROM {TABLE} WHERE page_due AND number > {p} "
            f"ORDER BY number LIMIT {p}",
            (after, batch),
        )
        return [(str(n), int(v), str(a)) for n, v, a in cursor.fetchall()]
    finally:
        cursor.close()


def _stale(p: str, kept_only: bool) -> str:
    """The rows without pages made with the stamp (the first parameter) for their version
    (`kept_only`: of those with pages of another stamp or version): a `FROM … WHERE`."""
    if kept_only:
        return (
            f"FROM {TABLE} a JOIN {PAGES} k ON k.number = a.number "
            f"WHERE NOT (k.version = a.version AND k.stamp = {p})"
        )
    return (
        f"FROM {TABLE} a LEFT JOIN {PAGES} k ON k.number = a.number "
        f"AND k.version = a.version AND k.stamp = {p} WHERE k.number IS NULL"
    )


def stale(
    conn: Connection, stamp: str, after: str = "", batch: int = 500, *, kept_only: bool = False
) -> list[tuple[str, int, str]]:
    """The next `batch` rows after `after` without pages made with `stamp` for their version
    (another release or settings, or never; `kept_only`: only those that have pages, of
    another stamp or version): as `due`, for `emstrack db refresh-answers`."""
    cursor, p = _cursor(conn)
    try:
        cursor.execute(
            f"SELECT a.number, a.version, a.answer {_stale(p, kept_only)} "
            f"AND a.number > {p} ORDER BY a.number LIMIT {p}",
            (stamp, after, batch),
        )
        return [(str(n), int(v), str(a)) for n, v, a in cursor.fetchall()]
    finally:
        cursor.close()


def store(conn: Connection, made: Sequence[Made]) -> None:
    """Keep the pages of `made` (removing a number's old ones where it keeps none) and clear
    the due mark of each row still at the version made. A page never replaces one made for a
    newer version (another keeper's)."""
    if not made:
        return
    cursor, p = _cursor(conn)
    try:
        keep = [row for row in made if row[2] is not None]
        drop = [(number,) for number, _, stamp, _, _ in made if stamp is None]
        if drop:
            cursor.executemany(f"DELETE FROM {PAGES} WHERE number = {p}", drop)
        if keep:
            cursor.executemany(
                f"INSERT INTO {PAGES} ({_COLUMNS}) VALUES ({p}, {p}, {p}, {p}, {p}) "
                "ON CONFLICT (number) DO UPDATE SET version = excluded.version, "
                "stamp = excluded.stamp, page_en = excluded.page_en, page_zh = excluded.page_zh "
                f"WHERE {PAGES}.version <= excluded.version",
                keep,
            )
        cursor.executemany(
            f"UPDATE {TABLE} SET page_due = FALSE WHERE number = {p} AND version = {p}",
            [(number, version) for number, version, *_ in made],
        )
    finally:
        cursor.close()


def mark_due(conn: Connection, rows: Sequence[tuple[str, int]]) -> None:
    """Mark due the rows of (number, version) still at that version (a page viewed and drawn
    for want of a kept one: `keep_item_pages=viewed`)."""
    if not rows:
        return
    cursor, p = _cursor(conn)
    try:
        cursor.executemany(
            f"UPDATE {TABLE} SET page_due = TRUE WHERE number = {p} AND version = {p} "
            "AND NOT page_due",
            list(rows),
        )
    finally:
        cursor.close()


def forget(conn: Connection, after: str = "", batch: int = 500) -> tuple[int, str | None]:
    """Remove the kept pages of the next `batch` numbers after `after`: (numbers done, the
    last number, None when none were left). A step per transaction."""
    cursor, p = _cursor(conn)
    try:
        cursor.execute(
            f"SELECT number FROM {PAGES} WHERE number > {p} ORDER BY number LIMIT {p}",
            (after, batch),
        )
        numbers = [str(row[0]) for row in cursor.fetchall()]
        if not numbers:
            return 0, None
        cursor.executemany(f"DELETE FROM {PAGES} WHERE number = {p}", [(n,) for n in numbers])
    finally:
        cursor.close()
    return len(numbers), numbers[-1]


def due_count(conn: Connection) -> int:
    """How many rows have their pages due."""
    return count(conn, f"SELECT count(*) FROM {TABLE} WHERE page_due")


def stale_count(conn: Connection, stamp: str, *, kept_only: bool = False) -> int:
    """How many rows `stale` would give, all in all."""
    p = placeholder(conn.dialect.paramstyle)
    return count(conn, f"SELECT count(*) {_stale(p, kept_only)}", (stamp,))


def kept_count(conn: Connection) -> int:
    """How many numbers keep pages (of any stamp or version)."""
    return count(conn, f"SELECT count(*) FROM {PAGES}")
