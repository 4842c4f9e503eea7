"""The file import on PostgreSQL through `COPY` into staging tables (`store.staging`) stores
exactly what the statement-per-row path stores.

One file with everything the writer decides on — events out of order across batches,
duplicates in other spellings and with more detail, numbers reused after the window, a late
scan that joins two items, conflicting attributes, postcodes as proof and not, subscribers to be
told, rows to reject — is imported by both paths into the same empty database, one after the
other, at the same clock; every row of items, conflicts, events, the read model, subscriptions
and the outbox must be the same.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from eventfiles import assert_consistent, empty_tables, read_rejects_csv, s10, write_csv
from sqlalchemy import Engine, text

from emstrack.config import Settings
from emstrack.ingest.files import import_file
from emstrack.ingest.records import parse_record
from emstrack.ingest.writer import record
from emstrack.store.database import Database
from emstrack.store.engine import ensure_schema, make_engine
from emstrack.store.events import StoredEvent, event_row
from emstrack.store.items import ItemRow
from emstrack.store.staging import StagingError, write_batch
from emstrack.store.subscriptions import SubscriptionState, add_subscription

COLUMNS = [
    "tracking_number",
    "event_code",
    "event_time",
    "office_code",
    "office_name",
    "country",
    "signatory",
    "origin_country",
    "destination_country",
    "destination_postcode",
]
JOURNEY = [
    ("EMA", "CNBJSA", "CN", 0),
    ("EMB", "CNBJSD", "CN", 7),
    ("EMC", "CNBJSD", "CN", 20),
    ("EMD", "DEFRAA", "DE", 46),
    ("EDC", "DEFRAA", "DE", 70),
    ("EMF", "DEFRAA", "DE", 75),
    ("EDH", "DEBERA", "DE", 98),
    ("EMI", "DEBERA", "DE", 103),
]
START = datetime(2024, 3, 1, 8, 0)
SUBSCRIBED = 12  # the first numbers have a subscriber each


def _rows(rng: random.Random) -> list[list[str]]:
    rows: list[list[str]] = []

    def scan(number: str, code: str, office: str, country: str, at: datetime, **more: str) -> None:
        values = {
            "tracking_number": number,
            "event_code": code,
            "event_time": at.isoformat(timespec="minutes"),
            "office_code": office,
            "country": country,
            **more,
        }
        rows.append([values.get(name, "") for name in COLUMNS])

    for n in range(60):
        number = s10(51_000_000 + n)
        posted = START + timedelta(hours=5 * n)
        steps = JOURNEY[: rng.randint(2, len(JOURNEY))]
        for i, (code, office, country, hours) in enumerate(steps):
            more: dict[str, str] = {}
            if i == 0:
                more = {"origin_country": "CN", "destination_country": "DE"}
            if code == "EMI":
                more["signatory"] = "K. Weber"
            if i == 1 and n % 4 == 0:
                more["destination_postcode"] = "10117"
            scan(number, code, office, country, posted + timedelta(hours=hours), **more)
        if n % 5 == 0:  # the same scan again, in another spelling, with more detail
            code, office, country, hours = steps[-1]
            at = posted + timedelta(hours=hours)
            scan(number.lower(), code, office, country, at, office_name="Berlin IMPC")
        if n % 7 == 0:  # an attribute the item already has, with another value
            scan(number, "EMJ", "NLAMSA", "NL", posted + timedelta(hours=30), origin_country="HK")
        if n % 9 == 0:  # a postcode only on a duplicate: kept, no proof
            code, office, country, hours = steps[0]
            at = posted + timedelta(hours=hours)
            scan(number, code, office, country, at, destination_postcode="80331")
    # A number reused after the window, and a later one joined by a late scan in between.
    for n, join in ((100, False), (101, True)):
        number = s10(51_000_000 + n)
        for code, office, country, hours in JOURNEY[:3]:
            scan(number, code, office, country, START + timedelta(hours=hours))
        later = START + timedelta(days=500)
        for code, office, country, hours in JOURNEY[:4]:
            scan(number, code, office, country, later + timedelta(hours=hours))
        if join:
            scan(number, "EMJ", "NLAMSA", "NL", START + timedelta(days=250))
    rng.shuffle(rows)  # out of order, across batches
    # Rows to reject: a bad number, a bad time, a code that is no code.
    rows.insert(5, ["EE123456780XX", "EMA", "2024-03-01T08:00", "CNBJSA", "", "CN", "", "", "", ""])
    rows.insert(
        40, [s10(51_000_001), "EMB", "the 3rd of March", "CNBJSD", "", "CN", "", "", "", ""]
    )
    rows.insert(90, [s10(51_000_002), "E!", "2024-03-02T08:00", "CNBJSD", "", "CN", "", "", "", ""])
    return rows


@pytest.fixture
def engine(postgres_database: str) -> Iterator[Engine]:
    """The session's PostgreSQL database, empty (the staging tables exist only there)."""
    engine = make_engine(postgres_database)
    ensure_schema(engine)
    yield engine
    engine.dispose()


#: The import's clock in both runs: one instant (the staged path reads the next batch while it
#: writes one, so the two paths ask the time in another order).
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _import(db: Database, path: Path, staged: bool) -> tuple[Any, dict[str, list[Any]]]:
    empty_tables(db)
    with db.write() as conn:
        for n in range(SUBSCRIBED):
            add_subscription(
                conn,
                number=s10(51_000_000 + n),
                channel="webhook",
                target=f"https://127.0.0.1/hook/{n}",
                lang="en",
                timezone="UTC",
                state=SubscriptionState.ACTIVE,
                last_status=None,
                now=datetime(2026, 11, 30, tzinfo=UTC),
            )
    url = db.engine.url.render_as_string(hide_password=False)
    settings = Settings(database_url=url, import_batch_size=23)
    summary = import_file(db, path, settings, clock=lambda: NOW, staged=staged)
    rejects = read_rejects_csv(summary.rejects_path) if summary.rejects_path else []
    return (summary.read, summary.new, summary.duplicate, summary.rejected, rejects), _snapshot(db)


def _snapshot(db: Database) -> dict[str, list[Any]]:
    """Every stored row, as comparable values: the subscriptions' and notices' random ids
    replaced by the subscriber's target; the read model's events in key order (the lookup
    orders them itself)."""
    found: dict[str, list[Any]] = {}
    with db.read() as conn:

        def rows(sql: str) -> list[dict[str, Any]]:
            return [dict(row._mapping) for row in conn.execute(text(sql))]

        found["items"] = rows("SELECT * FROM items ORDER BY number, generation")
        found["item_conflicts"] = rows(
            "SELECT * FROM item_conflicts ORDER BY number, generation, field, value"
        )
        found["events"] = rows("SELECT * FROM events ORDER BY number, generation, dedupe_key")
        found["item_answers"] = []
        for row in rows("SELECT * FROM item_answers ORDER BY number"):
            doc = orjson.loads(row.pop("answer"))
            doc["events"].sort(key=repr)
            found["item_answers"].append({**row, "answer": doc})
        found["subscriptions"] = rows(
            "SELECT number, channel, target, state, last_status, ended_reason, ended_at "
            "FROM subscriptions ORDER BY number, target"
        )
        found["outbox"] = rows(
            "SELECT o.number, s.target, o.kind, o.payload, o.state, o.next_attempt_at, "
            "o.created_at FROM outbox o JOIN subscriptions s ON s.id = o.subscription_id "
            "ORDER BY o.number, o.created_at, o.payload"
        )
    return found


def test_the_staged_import_stores_what_the_row_by_row_import_stores(
    engine: Engine, tmp_path: Path
) -> None:
    db = Database(engine)
    path = write_csv(tmp_path / "scans.csv", COLUMNS, _rows(random.Random(15)))
    before, rows_before = _import(db, path, staged=False)
    # One statement per row here; in the staged path at most two per batch (the new events'
    # insert, the changed ones' update): the comparison is between the two paths.
    batches = len(range(0, before[0] - before[3], 23))
    assert _statements(db) > 4 * batches
    after, rows_after = _import(db, path, staged=True)
    assert _statements(db) <= 2 * batches
    assert_consistent(db)
    assert after == before
    read, new, duplicate, rejected, rejects = after
    assert rejected == 3
    assert [r["reject_line"] for r in rejects] == ["7", "42", "92"]
    assert new + duplicate + rejected == read
    for table in rows_before:
        assert rows_after[table] == rows_before[table], table
    # Everything the file can give happened: merged detail, reuse, joined items, conflicts,
    # notices, ended subscriptions.
    assert {item["generation"] for item in rows_after["items"]} == {1, 2}
    assert rows_after["item_conflicts"]
    assert any(row["office_name"] == "Berlin IMPC" for row in rows_after["events"])
    assert any(row["version"] > 1 for row in rows_after["item_answers"])
    assert len(rows_after["outbox"]) > SUBSCRIBED
    assert any(row["state"] == SubscriptionState.ENDED for row in rows_after["subscriptions"])


def _statements(db: Database) -> int:
    """How many statements wrote the events: rows inserted by one command share (xmin, cmin)."""
    with db.read() as conn:
        return int(
            conn.execute(
                text("SELECT count(DISTINCT (xmin::text, cmin::text)) FROM events")
            ).scalar_one()
        )


def test_a_row_already_stored_fails_the_batch_and_stores_nothing(engine: Engine) -> None:
    """The staged insert skips rows the database already holds (`ON CONFLICT DO NOTHING`) but
    the writer counted them as new: the batch is refused whole rather than miscounted."""
    db = Database(engine)
    empty_tables(db)
    number = s10(51_000_500)
    first = parse_record(
        {"tracking_number": number, "event_code": "EMA", "event_time": "2024-03-01T08:00"}
    )
    record(db, [first], staged=True)
    with db.read() as conn:
        stored = conn.execute(text("SELECT * FROM items")).one()
    item = ItemRow(*stored)
    second = parse_record(
        {"tracking_number": number, "event_code": "EMB", "event_time": "2024-03-01T12:00"}
    )
    rows = [
        event_row(number, 1, StoredEvent(first.event.key, first.event, [first.event.raw])),
        event_row(number, 1, StoredEvent(second.event.key, second.event, [second.event.raw])),
    ]
    with pytest.raises(StagingError), db.write() as conn:
        write_batch(
            conn,
            deleted_items=[],
            items=[item],
            new_events=rows,
            changed_events=[],
            conflicts=[],
            answers=[(number, "{}", None, None, None)],
            no_answers=[],
            now=datetime.now(UTC),
        )
    with db.read() as conn:
        assert conn.execute(text("SELECT count(*) FROM events")).scalar_one() == 1
        answer = conn.execute(text("SELECT answer FROM item_answers")).scalar_one()
    assert answer != "{}"


def test_a_batch_the_database_refuses_stops_the_import_after_the_batches_before(
    engine: Engine, tmp_path: Path
) -> None:
    """The batches are written in a thread of their own while the next is read: a batch the
    database refuses (here a trigger refuses one number) fails the import with the database's
    error; the batches before it stay, nothing after it is written, the rejects file is whole."""
    db = Database(engine)
    empty_tables(db)
    rows = [
        [s10(52_000_000 + n), "EMA", f"2024-03-01T{n // 60:02d}:{n % 60:02d}", "CNBJSA", "CN"]
        for n in range(100)
    ]
    rows.insert(3, ["EE123456780XX", "EMA", "2024-03-01T08:00", "CNBJSA", "CN"])
    refused = rows[50][0]
    path = write_csv(tmp_path / "scans.csv", [*COLUMNS[:4], "country"], rows)
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE FUNCTION refuse_one() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"IF NEW.number = '{refused}' THEN RAISE EXCEPTION 'refused here'; END IF; "
                "RETURN NEW; END $$"
            )
        )
        conn.execute(
            text(
                "CREATE TRIGGER refuse_one BEFORE INSERT ON events "
                "FOR EACH ROW EXECUTE FUNCTION refuse_one()"
            )
        )
    settings = Settings(
        database_url=db.engine.url.render_as_string(hide_password=False), import_batch_size=20
    )
    try:
        with pytest.raises(Exception, match="refused here"):
            import_file(db, path, settings)
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP TRIGGER refuse_one ON events"))
            conn.execute(text("DROP FUNCTION refuse_one()"))
    with db.read() as conn:
        stored = set(conn.execute(text("SELECT number FROM events")).scalars())
    # Rows 0-19 and 20-39 (the file's first two batches) are in, the third batch (with row 50)
    # and all after it are not.
    assert stored == {row[0] for row in rows[:41] if row[0] != "EE123456780XX"}
    assert_consistent(db)
    rejects = read_rejects_csv(tmp_path / "scans.rejects.csv")
    assert [r["tracking_number"] for r in rejects] == ["EE123456780XX"]
