"""Helpers for the ingest tests: real S10 numbers, event records and files, stored rows.

Imported by the test modules of this directory as a top-level module (pytest puts a test
directory without `__init__.py` on `sys.path`); not a `conftest.py`, because a second module
named `conftest` would clash with `tests/conftest.py` under `mypy`.
"""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from emstrack.domain.s10 import check_digit
from emstrack.ingest.records import IncomingEvent, parse_record
from emstrack.store.answers import answer_row
from emstrack.store.database import Database
from emstrack.store.events import HISTORY_EVENT_FIELDS, history_rows
from emstrack.store.schema import events, item_answers, items, metadata
from emstrack.store.values import local_dt

#: The ingest time given to events built here, so that stored rows compare equal across runs.
INGESTED = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)


def s10(serial: int, service: str = "EE", country: str = "CN") -> str:
    """A valid S10 number with the check digit of docs/standards/s10.md §3."""
    digits = f"{serial:08d}"
    return f"{service}{digits}{check_digit(digits)}{country}"


def incoming(
    number: str, code: str, event_time: str, *, office_code: str | None = "CNBJSD", **fields: str
) -> IncomingEvent:
    """A checked event, as the import would build it from a record with these fields."""
    record: dict[str, str] = {
        "tracking_number": number,
        "event_code": code,
        "event_time": event_time,
        **fields,
    }
    if office_code is not None:
        record["office_code"] = office_code
    return parse_record(record, now=INGESTED)


def write_csv(
    path: Path,
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    delimiter: str = ",",
    lineterminator: str = "\n",
    bom: bool = False,
) -> Path:
    """A CSV file as spreadsheets and operator exports write them; gzip if the name says so."""
    opener: Any = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8-sig" if bom else "utf-8", newline="") as f:
        writer = csv.writer(f, delimiter=delimiter, lineterminator=lineterminator)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, records: Iterable[Mapping[str, Any] | str]) -> Path:
    """One JSON object per line; a `str` is written as the line itself (for broken lines)."""
    with path.open("w", encoding="utf-8", newline="") as f:
        for entry in records:
            line = entry if isinstance(entry, str) else json.dumps(entry, ensure_ascii=False)
            f.write(line + "\n")
    return path


def read_rejects_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", errors="surrogateescape", newline="") as f:
        return list(csv.DictReader(f))


def read_rejects_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8", errors="surrogateescape") as f:
        return [json.loads(line) for line in f]


def stored_events(db: Database) -> list[dict[str, Any]]:
    """Every stored event as a dict, `raw` decoded; in key order (not arrival order)."""
    query = select(events).order_by(events.c.number, events.c.generation, events.c.dedupe_key)
    with db.read() as conn:
        rows = [dict(row._mapping) for row in conn.execute(query)]
    for row in rows:
        row["raw"] = json.loads(row["raw"])
    return rows


def stored_items(db: Database) -> list[dict[str, Any]]:
    query = select(items).order_by(items.c.number, items.c.generation)
    with db.read() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def count_events(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(events)).scalar_one())


def empty_tables(db: Database) -> None:
    with db.write() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())


def assert_consistent(db: Database) -> None:
    """What a crash must never break: every event has its item, counts add up, no duplicates."""
    with db.read() as conn:
        if db.dialect == "sqlite":
            assert conn.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
            assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
        orphans = conn.execute(
            text(
                "SELECT COUNT(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM items i"
                " WHERE i.number = e.number AND i.generation = e.generation)"
            )
        ).scalar_one()
        assert orphans == 0
        miscounted = conn.execute(
            text(
                "SELECT i.number, i.generation, i.event_count, COUNT(e.dedupe_key) FROM items i"
                " LEFT JOIN events e ON e.number = i.number AND e.generation = i.generation"
                " GROUP BY i.number, i.generation, i.event_count"
                " HAVING i.event_count <> COUNT(e.dedupe_key)"
            )
        ).all()
        assert miscounted == []
        doubled = conn.execute(
            text(
                "SELECT number, generation, dedupe_key FROM events"
                " GROUP BY number, generation, dedupe_key HAVING COUNT(*) > 1"
            )
        ).all()
        assert doubled == []
    assert_read_model(db)


def assert_read_model(db: Database) -> None:
    """The read model (`store.answers`) holds, for every number and only those, exactly the
    rows the two range reads of the events give."""
    with db.read() as conn:
        numbers = sorted(set(conn.execute(select(items.c.number)).scalars()))
        answered = sorted(conn.execute(select(item_answers.c.number)).scalars())
    assert answered == numbers
    with db.raw_reader() as driver:
        for number in numbers:
            found = answer_row(driver, db.paramstyle, number)
            assert found is not None
            item_rows, rows = history_rows(driver, db.paramstyle, number)
            kept_items, kept_rows = found.rows()
            assert kept_items == item_rows, number
            assert _events(kept_rows) == _events(rows), number


def _events(rows: Any) -> list[tuple[Any, ...]]:
    at = HISTORY_EVENT_FIELDS.index("occurred_local")
    out = []
    for row in rows:
        values = list(row)
        values[at] = local_dt(values[at])
        out.append(tuple(values))
    return sorted(out, key=repr)
