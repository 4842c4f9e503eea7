"""The events table: an event written in bulk reads back the same on every path.

Every column of an event gets a value of its own, so a column written or read at another's
place shows. Runs on SQLite and on PostgreSQL (the `db` fixture).
"""

from __future__ import annotations

from datetime import UTC, datetime

from emstrack.domain.events import Event
from emstrack.store.database import Database
from emstrack.store.events import (
    EVENT_FIELDS,
    HISTORY_EVENT_FIELDS,
    StoredEvent,
    event_raw,
    event_row,
    events_for,
    events_from_rows,
    history_rows,
    write_changes,
)
from emstrack.store.items import ItemRow
from emstrack.store.schema import events

NUMBER = "EE123456785CN"
EVENT = Event(
    code="EMI",
    occurred_local=datetime(2026, 11, 7, 11, 45, 30),
    utc_offset_min=60,
    office_code="DEBERB",
    office_name="10115 BERLIN",
    country="DE",
    next_office_code="DEBERC",
    reason_code="R1",
    reason_text="reason",
    action_code="A1",
    action_text="action",
    retention_code="T1",
    retention_text="retention",
    signatory="Erika Mustermann",
    description="left with neighbour",
    source="feed-a",
    ingested_at=datetime(2026, 11, 7, 11, 0, tzinfo=UTC),
)


def _item() -> ItemRow:
    at = datetime(2026, 11, 7, 10, 45, 30)
    now = datetime(2026, 11, 7, 11, 0, tzinfo=UTC)
    return ItemRow(
        NUMBER, 1, "s10", "ems", "CN", "DE", None, at, at, "delivered", None, "EMI", 1, now, now
    )


def test_the_columns_named_are_the_tables() -> None:
    stored_apart = {"number", "generation", "dedupe_key", "occurred_utc", "raw"}
    assert sorted(EVENT_FIELDS) == sorted(set(events.c.keys()) - stored_apart)
    assert set(HISTORY_EVENT_FIELDS) == set(EVENT_FIELDS) - {"ingested_at"}


def test_an_event_written_in_bulk_reads_back_the_same(db: Database) -> None:
    stored = StoredEvent(EVENT.key, EVENT, [{"from": "feed-a"}])
    with db.write() as unit:
        write_changes(
            unit,
            new_items=[_item()],
            changed_items=[],
            new_events=[event_row(NUMBER, 1, stored, sqlite=db.dialect == "sqlite")],
            changed_events=[],
        )
    with db.read() as unit:
        found = events_for(unit, [NUMBER])[(NUMBER, 1)][EVENT.key]
        assert found.event == EVENT
        assert event_raw(unit, NUMBER, 1, EVENT.key) == [{"from": "feed-a"}]
    with db.raw_reader() as driver:
        item_rows, event_rows = history_rows(driver, db.paramstyle, NUMBER)
    assert item_rows == [_item()]
    # The lookup's reads leave the ingest time out: the answer never shows it.
    without_ingest_time = Event(**{name: getattr(EVENT, name) for name in HISTORY_EVENT_FIELDS})
    assert events_from_rows(event_rows) == [without_ingest_time]
