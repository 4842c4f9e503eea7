"""Recording events: idempotent, order-free, reuse-aware.

docs/standards/events.md §3-§4, docs/standards/s10.md §9.

Every test runs on SQLite and on PostgreSQL (the `db` fixture).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from eventfiles import (
    assert_consistent,
    empty_tables,
    incoming,
    s10,
    stored_events,
    stored_items,
)
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from emstrack.config import Settings
from emstrack.ingest.records import IncomingEvent
from emstrack.ingest.writer import EventOutcome, record
from emstrack.lookup import Tracker
from emstrack.store.database import Database
from emstrack.store.items import conflicts_of

CN = "EE123456785CN"  # Beijing -> New York
DE = "CP507451140DE"  # a parcel posted in Germany


def _cn_us() -> list[IncomingEvent]:
    """An EMS item from Beijing to New York, with detail that comes in two reports."""
    return [
        incoming(CN, "EMA", "2024-03-01T09:12", office_code=None, office_name="Beijing Chaoyang"),
        incoming(CN, "EMB", "2024-03-01T18:40", country="CN"),
        incoming(CN, "EMC", "2024-03-02T06:05", country="CN", next_office_code="USJFKA"),
        # The departure again, from a second feed that adds the flight.
        incoming(CN, "EMC", "2024-03-02T06:05", description="CA981"),
        incoming(CN, "EMD", "2024-03-03T14:20", office_code="USJFKA", country="US"),
        incoming(CN, "EDB", "2024-03-03T15:00", office_code="USJFKA", country="US"),
        incoming(CN, "EDC", "2024-03-04T10:30", office_code="USJFKA", country="US"),
        incoming(CN, "EDG", "2024-03-05T08:30", office_code=None, office_name="NEW YORK NY 10001"),
        incoming(CN, "EMH", "2024-03-05T17:10", office_code=None, office_name="NEW YORK NY 10001"),
        # The failed delivery again, now with the reason and the action.
        incoming(
            CN,
            "EMH",
            "2024-03-05T17:10",
            office_code=None,
            office_name="NEW YORK NY 10001",
            reason_text="Addressee absent",
            action_text="Notice left",
        ),
        incoming(CN, "EMI", "2024-03-06T11:02", office_code=None, office_name="NEW YORK NY 10001"),
        # The same delivery with the signatory, and a stray scan after it.
        incoming(
            CN,
            "EMI",
            "2024-03-06T11:02",
            office_code=None,
            office_name="NEW YORK NY 10001",
            signatory="J. SMITH",
        ),
        incoming(CN, "EMH", "2024-03-07T09:00", office_code=None, office_name="NEW YORK NY 10001"),
    ]


def _de_cn() -> list[IncomingEvent]:
    """A parcel from Frankfurt held by Chinese customs."""
    return [
        incoming(DE, "EMA", "2024-03-04T10:00", office_code="DEFRAA", country="DE"),
        incoming(DE, "EMC", "2024-03-04T22:00", office_code="DEFRAA", country="DE"),
        incoming(DE, "EMD", "2024-03-06T07:00", office_code="CNPEKD", country="CN"),
        incoming(DE, "EME", "2024-03-06T09:00", office_code="CNPEKD", country="CN"),
        incoming(
            DE,
            "EME",
            "2024-03-06T09:00",
            office_code="CNPEKD",
            country="CN",
            retention_code="12",
            retention_text="Invoice missing",
        ),
    ]


# Hypothesis with the `db` fixture: each example empties the tables itself.
_FEW_EXAMPLES = examples(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

HISTORY = _cn_us() + _de_cn()
DISTINCT = 14  # HISTORY less its 4 duplicates


def _snapshot(db: Database) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The stored rows, without what depends on when they were written or in what order."""
    rows = stored_events(db)
    for row in rows:
        row["raw"] = sorted(json.dumps(payload, sort_keys=True) for payload in row["raw"])
    item_rows = stored_items(db)
    for item in item_rows:
        del item["created_at"], item["updated_at"]
    return rows, item_rows


def _record_in_batches(db: Database, events: Sequence[IncomingEvent], cuts: list[int]) -> None:
    bounds = [0, *sorted(cuts), len(events)]
    for start, end in itertools.pairwise(bounds):
        record(db, events[start:end])


def test_the_same_event_twice_is_stored_once(db: Database) -> None:
    ema = incoming(CN, "EMA", "2024-03-01T09:12", country="CN")
    first = record(db, [ema])
    second = record(db, [ema])
    assert first.outcomes == (EventOutcome.STORED,)
    assert (first.items_created, first.items_changed) == (1, 0)
    assert second.outcomes == (EventOutcome.DUPLICATE,)
    assert (second.stored, second.duplicates, second.items_created) == (0, 1, 0)
    (row,) = stored_events(db)
    assert row["raw"] == [ema.event.raw]
    assert stored_items(db)[0]["event_count"] == 1


def test_the_same_event_twice_in_one_batch_is_stored_once(db: Database) -> None:
    ema = incoming(CN, "EMA", "2024-03-01T09:12", country="CN")
    result = record(db, [ema, ema])
    assert result.outcomes == (EventOutcome.STORED, EventOutcome.DUPLICATE)
    assert len(stored_events(db)) == 1


@pytest.mark.parametrize(
    ("first", "second"),
    [
        # Minutes only against seconds: several sources print minutes only.
        (("2024-03-05T17:10", {}), ("2024-03-05T17:10:42", {})),
        # The same office name in other case and spacing.
        (
            ("2024-03-05T17:10", {"office_code": None, "office_name": "NEW YORK NY 10001"}),
            ("2024-03-05T17:10", {"office_code": None, "office_name": " new york  ny 10001"}),
        ),
        # The offset written out in one report, derived from the country in the other.
        (("2024-03-05T17:10:00+08:00", {"country": "CN"}), ("2024-03-05T17:10", {"country": "CN"})),
    ],
)
def test_reports_of_one_scan_in_other_spellings_are_duplicates(
    db: Database, first: tuple[str, dict[str, Any]], second: tuple[str, dict[str, Any]]
) -> None:
    a = incoming(CN, "EMH", first[0], **first[1])
    b = incoming(CN, "EMH", second[0], **second[1])
    assert record(db, [a]).outcomes == (EventOutcome.STORED,)
    assert record(db, [b]).outcomes == (EventOutcome.DUPLICATE,)
    (row,) = stored_events(db)
    assert row["occurred_local"] == a.event.occurred_local  # the stored event is kept
    assert row["raw"] == [a.event.raw, b.event.raw]  # and nothing is lost


def test_a_duplicate_with_more_detail_fills_the_empty_fields(db: Database) -> None:
    bare = incoming(CN, "EMH", "2024-03-05T17:10", office_code="USNYCB", reason_text="")
    detailed = incoming(
        CN,
        "EMH",
        "2024-03-05T17:10",
        office_code="USNYCB",
        office_name="NEW YORK NY 10001",
        reason_code="21",
        reason_text="Addressee absent",
        action_code="A2",
        action_text="Notice left, collect at post office",
    )
    # A third report disagrees on the reason: the stored value stays, the payload is kept.
    other = incoming(CN, "EMH", "2024-03-05T17:10", office_code="USNYCB", reason_text="Refused")
    record(db, [bare])
    assert record(db, [detailed]).outcomes == (EventOutcome.DUPLICATE,)
    assert record(db, [other]).outcomes == (EventOutcome.DUPLICATE,)
    (row,) = stored_events(db)
    assert row["office_name"] == "NEW YORK NY 10001"
    assert (row["reason_code"], row["reason_text"]) == ("21", "Addressee absent")
    assert (row["action_code"], row["action_text"]) == ("A2", "Notice left, collect at post office")
    assert row["raw"] == [bare.event.raw, detailed.event.raw, other.event.raw]
    assert stored_items(db)[0]["event_count"] == 1


def test_recording_a_history_stores_each_scan_once(db: Database) -> None:
    result = record(db, HISTORY)
    assert result.stored == DISTINCT
    assert result.duplicates == len(HISTORY) - DISTINCT
    assert result.items_created == 2
    assert_consistent(db)
    items = {item["number"]: item for item in stored_items(db)}
    assert (items[CN]["status"], items[CN]["status_code"], items[CN]["event_count"]) == (
        "delivered",
        "EMI",
        10,
    )
    assert (items[DE]["status"], items[DE]["status_detail"]) == ("customs_import", "held")
    again = record(db, HISTORY)
    assert (again.stored, again.duplicates) == (0, len(HISTORY))


def test_recording_the_same_events_again_changes_nothing(db: Database) -> None:
    record(db, HISTORY, now=datetime(2024, 3, 10, 12, 0, tzinfo=UTC))
    before = stored_items(db), stored_events(db)
    again = record(db, HISTORY, now=datetime(2024, 3, 11, 12, 0, tzinfo=UTC))
    assert (stored_items(db), stored_events(db)) == before
    assert (again.stored, again.items_created, again.items_changed) == (0, 0, 0)


@_FEW_EXAMPLES
@given(
    order=st.permutations(range(len(HISTORY))),
    cuts=st.lists(st.integers(min_value=1, max_value=len(HISTORY) - 1), max_size=4),
)
def test_stored_rows_and_status_do_not_depend_on_arrival_order_or_batches(
    db: Database, order: list[int], cuts: list[int]
) -> None:
    empty_tables(db)
    record(db, HISTORY)
    expected = _snapshot(db)

    empty_tables(db)
    _record_in_batches(db, [HISTORY[i] for i in order], cuts)
    assert _snapshot(db) == expected
    assert_consistent(db)


@pytest.mark.parametrize(
    ("arrivals", "status", "detail", "code"),
    [
        # Delivered first; the earlier scans of the journey arrive late.
        (
            [("EMI", "2024-03-06T11:02"), ("EDG", "2024-03-06T08:30"), ("EMA", "2024-03-01T09:12")],
            "delivered",
            None,
            "EMI",
        ),
        # A stray failed-delivery scan after the delivery does not undo it.
        ([("EMI", "2024-03-06T11:02"), ("EMH", "2024-03-07T09:00")], "delivered", None, "EMI"),
        ([("EMH", "2024-03-07T09:00"), ("EMI", "2024-03-06T11:02")], "delivered", None, "EMI"),
        # Stopped by customs; the arrival scan comes in afterwards.
        (
            [("EDX", "2024-03-08T10:00"), ("EMD", "2024-03-03T14:20")],
            "terminated",
            "import_terminated",
            "EDX",
        ),
        # Held by customs; the presentation to customs arrives late.
        (
            [("EME", "2024-03-04T09:00"), ("EDB", "2024-03-03T15:00")],
            "customs_import",
            "held",
            "EME",
        ),
        # An unknown code is listed but does not replace the known status.
        ([("EMD", "2024-03-03T14:20"), ("EML", "2024-03-04T09:00")], "in_transit", None, "EMD"),
    ],
)
def test_status_follows_occurrence_not_arrival(
    db: Database,
    settings: Settings,
    arrivals: list[tuple[str, str]],
    status: str,
    detail: str | None,
    code: str,
) -> None:
    for event_code, when in arrivals:
        record(db, [incoming(CN, event_code, when, country="CN")])
    (item,) = stored_items(db)
    assert (item["status"], item["status_detail"], item["status_code"]) == (status, detail, code)
    result = Tracker(db, settings).lookup(CN)
    assert result.state is not None
    assert (result.state.status, result.state.detail) == (status, detail)


# Posted and delivered in January 2023; the number is issued again in March 2024.
FIRST_USE = [("EMA", "2023-01-10T09:00"), ("EMC", "2023-01-11T06:00"), ("EMI", "2023-01-20T15:00")]
SECOND_USE = [("EMA", "2024-03-01T09:12"), ("EMC", "2024-03-02T06:05")]


def test_a_number_reused_after_12_months_starts_a_new_item(
    db: Database, settings: Settings
) -> None:
    for code, when in FIRST_USE:
        record(db, [incoming(CN, code, when, country="CN")])
    result = record(db, [incoming(CN, code, when, country="CN") for code, when in SECOND_USE])
    assert result.items_created == 1
    items = stored_items(db)
    assert [(i["generation"], i["status"], i["event_count"]) for i in items] == [
        (1, "delivered", 3),
        (2, "in_transit", 2),
    ]
    lookup = Tracker(db, settings).lookup("ee 123 456 785 cn")
    assert lookup.item is not None
    assert lookup.item.generation == 2
    assert lookup.status == "in_transit"
    assert [e.code for e in lookup.events] == ["EMC", "EMA"]
    assert [(i.generation, i.status) for i in lookup.earlier_items] == [(1, "delivered")]
    assert lookup.to_dict()["earlier_items"][0]["generation"] == 1


def test_a_late_scan_of_the_earlier_item_goes_to_the_earlier_item(db: Database) -> None:
    record(db, [incoming(CN, code, when, country="CN") for code, when in FIRST_USE[:2]])
    record(db, [incoming(CN, code, when, country="CN") for code, when in SECOND_USE])
    record(db, [incoming(CN, "EMI", FIRST_USE[2][1], country="CN")])
    items = stored_items(db)
    assert [(i["generation"], i["status"], i["event_count"]) for i in items] == [
        (1, "delivered", 3),
        (2, "in_transit", 2),
    ]
    assert_consistent(db)


@pytest.mark.parametrize(
    ("days_later", "generations"),
    [
        (1, [1]),
        (183, [1]),  # six months held by customs: still the same item
        (364, [1]),
        (365, [1]),
        (366, [1, 2]),
        (800, [1, 2]),
    ],
)
def test_a_new_item_only_after_the_reuse_window(
    db: Database, days_later: int, generations: list[int]
) -> None:
    first = incoming(CN, "EME", "2023-06-01T10:00:00+08:00")
    then = first.event.occurred_local + timedelta(days=days_later)
    later = incoming(CN, "EMA", then.isoformat() + "+08:00")
    result = record(db, [first, later])
    assert result.outcomes == (EventOutcome.STORED, EventOutcome.STORED)
    assert [i["generation"] for i in stored_items(db)] == generations


def test_events_six_months_apart_in_either_order_stay_one_item(db: Database) -> None:
    record(db, [incoming(CN, "EMI", "2024-07-10T10:00", country="CN")])
    record(db, [incoming(CN, "EME", "2024-01-10T10:00", country="CN")])
    (item,) = stored_items(db)
    assert (item["event_count"], item["status"]) == (2, "delivered")
    assert item["first_event_at"] == datetime(2024, 1, 10, 2, 0)
    assert item["last_event_at"] == datetime(2024, 7, 10, 2, 0)


def test_a_late_scan_between_two_items_joins_them_into_one_history(
    db: Database, settings: Settings
) -> None:
    # Chronologically each scan is within 12 months of the previous one: one item.
    posted = incoming(CN, "EMA", "2023-01-10T09:00", country="CN")
    held = incoming(CN, "EME", "2023-07-20T09:00", country="CN")  # 191 days later
    released = incoming(CN, "EDC", "2024-02-15T09:00", country="CN")  # 210 days after that
    record(db, [posted, held, released])
    in_order = [(i["generation"], i["event_count"]) for i in stored_items(db)]
    assert in_order == [(1, 3)]

    empty_tables(db)
    record(db, [posted])
    record(db, [released])  # 401 days after the posting: a new item, for now
    assert [(i["generation"], i["event_count"]) for i in stored_items(db)] == [(1, 1), (2, 1)]
    record(db, [held])  # the scan in between shows that they are one history
    assert [(i["generation"], i["event_count"]) for i in stored_items(db)] == in_order
    assert_consistent(db)
    lookup = Tracker(db, settings).lookup(CN)
    assert [e.code for e in lookup.events] == ["EDC", "EME", "EMA"]
    assert lookup.earlier_items == []


# Scan dates of one number over four years, in days from 2021-01-04; gaps over 365 days
# separate items. Each scan is a posting at 10:00 Beijing time.
_DAYS = st.lists(st.integers(min_value=0, max_value=1500), min_size=1, max_size=8, unique=True)


def _items_by_occurrence(db: Database) -> set[frozenset[datetime]]:
    by_item: dict[int, set[datetime]] = {}
    for row in stored_events(db):
        by_item.setdefault(row["generation"], set()).add(row["occurred_local"])
    return {frozenset(times) for times in by_item.values()}


@_FEW_EXAMPLES
@given(days=_DAYS, data=st.data())
def test_how_scans_group_into_items_does_not_depend_on_arrival_order(
    db: Database, days: list[int], data: st.DataObject
) -> None:
    start = datetime(2021, 1, 4, 10, 0)
    scans = [
        incoming(CN, "EMA", (start + timedelta(days=d)).isoformat(), country="CN")
        for d in sorted(days)
    ]
    # Chronological arrival: a new item after every gap of more than 12 months.
    expected: list[set[datetime]] = []
    for previous, day in zip([None, *sorted(days)], sorted(days), strict=False):
        if previous is None or day - previous > 365:
            expected.append(set())
        expected[-1].add(start + timedelta(days=day))

    empty_tables(db)
    order = data.draw(st.permutations(scans), label="arrival order")
    cuts = data.draw(st.lists(st.integers(1, max(1, len(scans) - 1)), max_size=3), label="cuts")
    _record_in_batches(db, order, cuts)
    assert _items_by_occurrence(db) == {frozenset(times) for times in expected}
    assert_consistent(db)


def test_item_attributes_fill_from_the_first_event_that_has_them(db: Database) -> None:
    record(db, [incoming(CN, "EMA", "2024-03-01T09:12", country="CN")])
    record(
        db,
        [
            incoming(
                CN,
                "EMC",
                "2024-03-02T06:05",
                origin_country="CN",
                destination_country="US",
                destination_postcode="10001",
            )
        ],
    )
    record(db, [incoming(CN, "EMD", "2024-03-03T14:20", destination_country="CA")])
    (item,) = stored_items(db)
    assert (item["origin_country"], item["destination_country"]) == ("CN", "US")
    assert item["destination_postcode"] == "10001"


def test_many_numbers_in_one_batch(db: Database) -> None:
    numbers = [s10(serial) for serial in range(12345000, 12345000 + 1200)]
    batch = [incoming(n, "EMA", "2024-03-01T09:12", country="CN") for n in numbers]
    result = record(db, batch)
    assert (result.stored, result.items_created) == (1200, 1200)
    assert len(stored_items(db)) == 1200
    assert_consistent(db)


def test_merged_items_keep_the_first_proof_and_every_conflict(db: Database) -> None:
    """Two items that one bridging scan shows to be one history: the older item's postcode
    stays, the other's is a conflict of the merged item, and nothing of it is lost."""
    window = timedelta(days=10)
    record(
        db,
        [incoming(CN, "EMA", "2024-03-01T09:12", destination_postcode="10001")],
        reuse_after=window,
    )
    record(
        db,
        [incoming(CN, "EMI", "2024-03-21T09:12", destination_postcode="10002")],
        reuse_after=window,
    )
    record(
        db,
        [incoming(CN, "EMC", "2024-03-03T09:12", destination_postcode="PWN2")],
        reuse_after=window,
    )
    assert len(stored_items(db)) == 2
    record(db, [incoming(CN, "EMD", "2024-03-11T09:12")], reuse_after=window)
    (item,) = stored_items(db)
    assert (item["destination_postcode"], item["postcode_from"]) == ("10001", "event")
    with db.read() as conn:
        conflicts = conflicts_of(conn, CN, item["generation"])
    assert sorted(c.value for c in conflicts) == ["10002", "PWN2"]
    assert all(c.field == "destination_postcode" for c in conflicts)
    assert_consistent(db)


def test_a_duplicate_only_postcode_is_no_proof(db: Database) -> None:
    record(db, [incoming(CN, "EMA", "2024-03-01T09:12")])
    result = record(db, [incoming(CN, "EMA", "2024-03-01T09:12", destination_postcode="X1")])
    assert result.outcomes == (EventOutcome.DUPLICATE,)
    (item,) = stored_items(db)
    assert (item["destination_postcode"], item["postcode_from"]) == ("X1", "merge")
    # The same postcode on a newly stored scan makes it a proof.
    record(db, [incoming(CN, "EMB", "2024-03-01T19:12", destination_postcode="x-1")])
    (item,) = stored_items(db)
    assert (item["destination_postcode"], item["postcode_from"]) == ("X1", "event")
