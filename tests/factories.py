"""What the tests build their items and events from, and where their PostgreSQL is.

Fixtures live in the `conftest.py` files; the plain helpers they and the tests share live here
(`from factories import Loader, history, DELIVERED_TO_DE`), so that no test imports a conftest.
"""

from __future__ import annotations

import os

from emstrack.store.database import Database

#: The PostgreSQL server the database fixtures use (default: the local one, trust auth).
POSTGRES_URL = os.environ.get(
    "EMSTRACK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)

#: One event as the import reads it: its field names (`emstrack.ingest.records.FIELDS`) to text.
Record = dict[str, str]


class Loader:
    """Records event dicts (the import's field names) through the real ingest path."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def __call__(self, *records: Record) -> list[str]:
        """Store `records` as one batch; the outcome of each (`stored`, `duplicate`, ...)."""
        from emstrack.ingest.records import parse_record
        from emstrack.ingest.writer import record

        batch = [parse_record(r, source="test") for r in records]
        return list(record(self.db, batch).outcomes)


def history(number: str, *steps: tuple[str, str, str, str]) -> list[Record]:
    """Event records for `number` from (code, local time, office code, country) steps."""
    return [
        {
            "tracking_number": number,
            "event_code": code,
            "event_time": when,
            "office_code": office,
            "country": country,
        }
        for code, when, office, country in steps
    ]


#: A China → Germany EMS item, delivered.
DELIVERED_TO_DE = (
    ("EMA", "2026-11-02T09:12", "CNBJSD", "CN"),
    ("EMB", "2026-11-02T18:40", "CNBJSD", "CN"),
    ("EMC", "2026-11-03T23:05", "CNBJSD", "CN"),
    ("EMD", "2026-11-05T06:30", "DEFRAA", "DE"),
    ("EDB", "2026-11-05T09:00", "DEFRAA", "DE"),
    ("EDC", "2026-11-06T14:20", "DEFRAA", "DE"),
    ("EMF", "2026-11-06T18:00", "DEFRAA", "DE"),
    ("EMG", "2026-11-07T06:10", "DEBERB", "DE"),
    ("EDG", "2026-11-07T08:00", "DEBERB", "DE"),
    ("EMI", "2026-11-07T11:45", "DEBERB", "DE"),
)

#: The local Redis the tests of shared limits talk to (they skip, saying so, without one).
REDIS_URL = "redis://127.0.0.1:6379/0"
