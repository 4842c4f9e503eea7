"""The demo data: deterministic, valid, realistic where the web page shows it, idempotent."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import pytest
from sqlalchemy import func, select

from emstrack.config import Settings
from emstrack.demo import BATCH_EVENTS, DemoSummary, generate, load_demo
from emstrack.domain import s10
from emstrack.domain.events import CATALOGUE, Event, Status
from emstrack.domain.status import derive
from emstrack.ingest.records import IncomingEvent
from emstrack.ingest.writer import record
from emstrack.store import schema
from emstrack.store.database import Database
from emstrack.store.events import events_from_rows, history_rows
from emstrack.store.items import ItemRow, count_items

NOW = datetime(2026, 3, 29, 9, 30, tzinfo=UTC)  # a Sunday, on the night Europe changes clocks
ITEMS = 400

# Scenario -> the status its example must have on the web page.
EXPECTED = {
    "delivered": Status.DELIVERED,
    "in_transit": Status.IN_TRANSIT,
    "customs_held": Status.CUSTOMS_IMPORT,
    "customs_released": Status.DELIVERED,
    "failed_then_delivered": Status.DELIVERED,
    "awaiting_pickup": Status.AWAITING_PICKUP,
    "returned": Status.RETURNING,  # on its way back: the demo stops before the sender has it
    "stale": Status.IN_TRANSIT,
    "posted_only": Status.ACCEPTED,
    "export_customs": Status.CUSTOMS_EXPORT,
    "export_cancelled": Status.TERMINATED,
}


def _sqlite(path: Path) -> Database:
    return Database.open(Settings(database_url=f"sqlite:///{path}"))


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    db = _sqlite(tmp_path / "t.db")
    yield db
    db.close()


@cache
def _demo(items: int = ITEMS, seed: int = 1) -> tuple[tuple[IncomingEvent, ...], ...]:
    return tuple(tuple(batch) for batch in generate(items, seed, now=NOW))


def _events() -> list[IncomingEvent]:
    return [incoming for batch in _demo() for incoming in batch]


def _by_number() -> dict[str, list[IncomingEvent]]:
    found: dict[str, list[IncomingEvent]] = {}
    for incoming in _events():
        found.setdefault(incoming.number, []).append(incoming)
    return found


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, DemoSummary]]:
    db = _sqlite(tmp_path_factory.mktemp("demo") / "t.db")
    yield db, load_demo(db, items=ITEMS, seed=1, now=NOW)
    db.close()


def _history(db: Database, number: str) -> tuple[list[ItemRow], list[Event]]:
    """Every item of `number`, and the events of the current one (the lookup's reads)."""
    with db.raw_reader() as driver:
        rows, event_rows = history_rows(driver, db.paramstyle, number)
    return rows, events_from_rows(event_rows)


def _current(db: Database, number: str) -> ItemRow:
    rows, _ = _history(db, number)
    return max(rows, key=lambda row: (row.last_event_at, row.generation))


def _counts(db: Database) -> tuple[int, int]:
    """How many items and how many events are stored."""
    with db.read() as conn:
        events = conn.execute(select(func.count()).select_from(schema.events)).scalar_one()
        return count_items(conn), int(events)


# --- generation ------------------------------------------------------------------------------


def test_same_seed_and_now_give_the_same_demo() -> None:
    again = tuple(tuple(batch) for batch in generate(ITEMS, 1, now=NOW))
    assert again == _demo()


def test_another_seed_or_now_gives_another_demo() -> None:
    numbers = {incoming.number for incoming in _events()}
    other_seed = {i.number for batch in generate(ITEMS, 2, now=NOW) for i in batch}
    assert len(numbers & other_seed) < len(numbers) // 10
    later = [i.event for batch in generate(ITEMS, 1, now=NOW + timedelta(days=3)) for i in batch]
    assert later != [incoming.event for incoming in _events()]


def test_no_items_no_batches() -> None:
    assert list(generate(0, 1, now=NOW)) == []


def test_now_must_say_its_zone() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        generate(10, 1, now=NOW.replace(tzinfo=None))


def test_batches_hold_whole_items_and_about_5000_events() -> None:
    batches = _demo(1500)
    assert len(batches) > 1
    assert all(len(batch) < BATCH_EVENTS + 60 for batch in batches)
    seen_in: dict[str, int] = {}
    for index, batch in enumerate(batches):
        for incoming in batch:
            assert seen_in.setdefault(incoming.number, index) == index


def test_every_number_is_valid_and_described_as_the_parser_does() -> None:
    for number, events in _by_number().items():
        parsed = s10.parse(number)
        assert parsed.valid, number
        assert {(i.kind, i.service) for i in events} == {(parsed.kind.value, parsed.service)}


def test_the_numbers_are_the_ones_of_the_standards() -> None:
    """S10 and China EMS numbering as docs/standards/s10.md and china-ems.md §2 give them."""
    numbers = list(_by_number())
    domestic = [n for n in numbers if n.isdigit()]
    assert domestic
    assert all(len(n) == 13 and n[:2] in {"10", "11", "50", "51", "95", "97"} for n in domestic)
    ours = Counter(n[:2] for n in numbers if n.endswith("CN"))
    assert {"EA", "EB", "ED", "EE", "RR", "CP"} <= set(ours)
    assert ours["EE"] == max(ours.values())
    assert {n[-2:] for n in numbers if not n.isdigit()} > {"CN", "US", "DE"}


def test_offices_times_and_offsets_are_real() -> None:
    for incoming in _events():
        event = incoming.event
        assert event.country
        assert event.office_name
        assert event.office_code is None or (
            len(event.office_code) == 6 and event.office_code.startswith(event.country)
        )
        if event.country == "CN":
            assert event.utc_offset_min == 480
        if event.office_code == "USJFKA":
            assert event.utc_offset_min in (-300, -240)
        utc = event.occurred_utc
        assert utc is None or utc <= NOW
        assert event.ingested_at is not None
        assert NOW - timedelta(days=800) < event.ingested_at <= NOW
        if event.code in ("EMI", "EDG"):  # deliveries in the daytime; Sundays only in China
            assert 7 <= event.occurred_local.hour < 20
            assert event.country == "CN" or event.occurred_local.weekday() != 6


def test_some_offsets_are_unknown_as_for_a_real_multi_zone_country() -> None:
    unknown = [i.event for i in _events() if i.event.utc_offset_min is None]
    assert unknown
    assert {e.country for e in unknown} <= {"RU", "AU"}


def test_histories_are_in_time_order_and_carry_their_details() -> None:
    events = _events()
    for number, items in _by_number().items():
        times = [i.event.occurred_utc for i in items if i.event.occurred_utc is not None]
        late = sum(a > b for a, b in itertools.pairwise(times))
        assert late <= 1, number  # one exact duplicate may come again at the end
    by_code = {code: [i.event for i in events if i.event.code == code] for code in CATALOGUE}
    signed = [i.event for i in events if i.event.code == "EMI" and i.number[0] in "EC"]
    assert signed
    assert all(e.signatory for e in signed)
    assert all(e.retention_text for e in by_code["EME"])
    assert all(e.reason_text and e.action_text for e in by_code["EMH"])
    assert all(e.reason_text for e in by_code["EDX"] + by_code["EXX"])
    assert all(e.next_office_code for e in by_code["EMC"] + by_code["EMK"])
    assert all(i.destination_postcode is None for i in events if i.event.code != "EMA")


def test_mix_of_scenarios_and_length_of_histories() -> None:
    by_number = _by_number()
    per_item = sum(map(len, by_number.values())) / len(by_number)
    assert 9 <= per_item <= 13
    delivered = [
        len(events)
        for events in by_number.values()
        if events[-1].event.code == "EMI" and not events[0].number.isdigit()
    ]
    assert 12 <= sum(delivered) / len(delivered) <= 17
    statuses = Counter(derive(i.event for i in events).status for events in by_number.values())
    assert 0.35 < statuses[Status.DELIVERED] / len(by_number) < 0.65
    assert statuses[Status.UNKNOWN] == 0


# --- loading ---------------------------------------------------------------------------------


def test_load_reports_what_it_stored(loaded: tuple[Database, DemoSummary]) -> None:
    db, summary = loaded
    assert (summary.items, summary.events) == _counts(db)
    assert summary.items == ITEMS
    events = _events()
    # Exact duplicates and a thinner first report are in the feed; they are stored once.
    assert summary.events == len({(i.number, i.event.key) for i in events}) < len(events)


@pytest.mark.parametrize(("scenario", "status"), EXPECTED.items())
def test_each_example_has_its_status(
    loaded: tuple[Database, DemoSummary], scenario: str, status: Status
) -> None:
    db, summary = loaded
    assert _current(db, summary.examples[scenario]).status == status.value


def test_examples_for_every_scenario_the_server_offers(
    loaded: tuple[Database, DemoSummary],
) -> None:
    _, summary = loaded
    assert set(EXPECTED) | {"unknown_code", "inbound", "domestic", "reused"} <= set(
        summary.examples
    )
    assert summary.examples["delivered"].startswith("E")
    assert summary.examples["delivered"].endswith("CN")


def test_unknown_code_example_shows_an_unknown_code(loaded: tuple[Database, DemoSummary]) -> None:
    db, summary = loaded
    item = _current(db, summary.examples["unknown_code"])
    _, events = _history(db, item.number)
    unknown = [e for e in events if e.code not in CATALOGUE]
    assert unknown
    assert unknown[0].description
    assert item.status != Status.UNKNOWN.value


def test_inbound_and_domestic_examples(loaded: tuple[Database, DemoSummary]) -> None:
    db, summary = loaded
    inbound = _current(db, summary.examples["inbound"])
    assert inbound.destination_country == "CN"
    assert not inbound.number.endswith("CN")
    domestic = _current(db, summary.examples["domestic"])
    assert domestic.kind == "domestic"
    assert (domestic.origin_country, domestic.destination_country) == ("CN", "CN")
    codes = {e.code for e in _history(db, domestic.number)[1]}
    assert codes <= {"EMA", "EDD", "EDE", "EMG", "EDG", "EMH", "EMI"}


def test_recent_and_stale_examples_are_placed_before_now(
    loaded: tuple[Database, DemoSummary],
) -> None:
    db, summary = loaded

    def age(scenario: str) -> timedelta:
        item = _current(db, summary.examples[scenario])
        return NOW.replace(tzinfo=None) - item.last_event_at

    assert timedelta(0) <= age("posted_only") <= timedelta(days=2)
    assert timedelta(0) <= age("in_transit") <= timedelta(days=5)
    assert timedelta(weeks=3) <= age("stale") <= timedelta(weeks=9)


def test_reused_number_has_two_generations(loaded: tuple[Database, DemoSummary]) -> None:
    db, summary = loaded
    rows, _ = _history(db, summary.examples["reused"])
    assert [row.generation for row in rows] == [1, 2]
    old, new = rows
    assert old.status == Status.DELIVERED.value
    assert timedelta(days=600) < new.first_event_at - old.last_event_at < timedelta(days=800)


def test_loading_again_stores_nothing_twice(loaded: tuple[Database, DemoSummary]) -> None:
    db, first = loaded
    before = _counts(db)
    again = load_demo(db, items=ITEMS, seed=1, now=NOW)
    assert _counts(db) == before
    assert (again.items, again.events) == (0, 0)
    assert again.examples == first.examples


def test_progress_is_reported_per_batch(sqlite_db: Database) -> None:
    calls: list[tuple[int, int]] = []
    load_demo(sqlite_db, items=700, seed=3, now=NOW, on_progress=lambda *a: calls.append(a))
    assert len(calls) > 1
    assert calls[-1] == (700, 700)
    assert [done for done, _ in calls] == sorted({done for done, _ in calls})


# --- the large-demo path: planned in a child process, written here -------------------------


def _dump(db: Database) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Every stored row of items and events, in key order."""
    with db.read() as conn:
        items, events = schema.items, schema.events
        item_rows = conn.execute(select(items).order_by(*items.primary_key.columns)).all()
        event_rows = conn.execute(select(events).order_by(*events.primary_key.columns)).all()
    return [tuple(r) for r in item_rows], [tuple(r) for r in event_rows]


def _plain_load(
    tmp_path: Path, items: int = ITEMS
) -> tuple[DemoSummary, tuple[list[tuple[object, ...]], ...]]:
    plain = _sqlite(tmp_path / "plain.db")
    summary = load_demo(plain, items=items, seed=1, now=NOW, background_from=10**9)
    rows = _dump(plain)
    plain.close()
    return summary, rows


def test_planned_in_a_child_process_stores_exactly_what_record_stores(
    db: Database, tmp_path: Path
) -> None:
    summary = load_demo(db, items=ITEMS, seed=1, now=NOW, background_from=0)
    expected_summary, expected_rows = _plain_load(tmp_path)
    assert summary == expected_summary
    if db.dialect == "sqlite":  # PostgreSQL's rows hold the same values in other types
        assert _dump(db) == expected_rows
    else:
        assert [len(t) for t in _dump(db)] == [len(t) for t in expected_rows]


def test_planned_load_again_falls_back_to_record_and_stores_nothing_twice(
    sqlite_db: Database,
) -> None:
    first = load_demo(sqlite_db, items=ITEMS, seed=1, now=NOW, background_from=0)
    before = _dump(sqlite_db)
    calls: list[tuple[int, int]] = []
    again = load_demo(
        sqlite_db,
        items=ITEMS,
        seed=1,
        now=NOW,
        background_from=0,
        on_progress=lambda *a: calls.append(a),
    )
    assert (again.items, again.events) == (0, 0)
    assert again.examples == first.examples
    assert _dump(sqlite_db) == before
    assert calls[-1] == (ITEMS, ITEMS)


def test_a_number_stored_meanwhile_sends_the_rest_through_record(
    sqlite_db: Database, tmp_path: Path
) -> None:
    # An item of the third batch is already on record (another writer got there first).
    batches = _demo(1500)
    assert len(batches) >= 3
    record(sqlite_db, [batches[2][0]], now=NOW)
    summary = load_demo(sqlite_db, items=1500, seed=1, now=NOW, background_from=0)
    expected_summary, expected_rows = _plain_load(tmp_path, 1500)
    assert summary.events == expected_summary.events - 1  # that one event was there already
    assert summary.items == expected_summary.items - 1
    assert summary.examples == expected_summary.examples
    assert _dump(sqlite_db) == expected_rows


def test_a_failing_generator_is_reported(sqlite_db: Database) -> None:
    naive = NOW.replace(tzinfo=None)  # refused by the generator, in the child process
    with pytest.raises(RuntimeError, match=r"the demo generator stopped: .*timezone-aware"):
        load_demo(sqlite_db, items=ITEMS, seed=1, now=naive, background_from=0)
