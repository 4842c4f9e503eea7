"""The items table: `ItemRow` is its columns, and the "try these" numbers prefer EMS ones."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from factories import Loader, history

from emstrack.store.database import Database
from emstrack.store.items import ITEM_FIELDS, ItemRow, item_from_driver, sample_numbers
from emstrack.store.schema import items
from emstrack.store.values import sqlite_text

NUMBER = "EE123456785CN"


def test_an_item_row_holds_every_column_of_items() -> None:
    assert sorted(ITEM_FIELDS) == sorted(items.c.keys())


def test_a_driver_row_becomes_the_item_by_column_name() -> None:
    values: dict[str, Any] = {
        "number": NUMBER,
        "generation": 2,
        "kind": "s10",
        "service": "ems",
        "origin_country": "CN",
        "destination_country": "DE",
        "destination_postcode": "10115",
        "first_event_at": datetime(2026, 11, 2, 9, 12),
        "last_event_at": datetime(2026, 11, 7, 11, 45),
        "status": "delivered",
        "status_detail": None,
        "status_code": "EMI",
        "event_count": 10,
        "created_at": datetime(2026, 11, 2, 1, 20, tzinfo=UTC),
        "updated_at": datetime(2026, 11, 7, 3, 50, tzinfo=UTC),
        "postcode_from": "event",
    }
    expected = ItemRow(**values)
    # PostgreSQL's driver hands datetimes over as they are; SQLite's as the text written.
    assert item_from_driver([values[name] for name in ITEM_FIELDS]) == expected
    as_text = {
        name: sqlite_text(value) if isinstance(value, datetime) else value
        for name, value in values.items()
    }
    assert item_from_driver([as_text[name] for name in ITEM_FIELDS]) == expected


def test_try_these_numbers_prefer_ems(load: Loader, db: Database) -> None:
    load(*history("1012345678901", ("EMA", "2026-11-20T10:00", "", "CN")))
    load(*history("RR473124829GB", ("EMA", "2026-11-20T10:00", "", "GB")))
    with db.read() as conn:
        assert sample_numbers(conn, "accepted") == ["1012345678901"]
    load(*history(NUMBER, ("EMA", "2026-11-20T10:00", "CNBJSD", "CN")))
    with db.read() as conn:
        assert sample_numbers(conn, "accepted") == [NUMBER]
        assert sample_numbers(conn, "accepted", limit=3) == [
            NUMBER,
            "1012345678901",
            "RR473124829GB",
        ]
