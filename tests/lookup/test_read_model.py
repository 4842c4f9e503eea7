"""The read model (`store.answers`): after any sequence of writes, a lookup answered from its one
row is the answer computed from the events themselves, in both languages, public and private,
on SQLite and PostgreSQL; its version goes up at every change and only then."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from sqlalchemy import select

from emstrack.config import Settings
from emstrack.domain.events import Event
from emstrack.domain.s10 import check_digit
from emstrack.domain.status import order_events, state_of
from emstrack.domain.tracking_number import TrackingNumber
from emstrack.ingest.records import IncomingEvent, parse_record
from emstrack.ingest.writer import record, remap
from emstrack.lookup import Outcome, Tracker, TrackingResult
from emstrack.lookup.model import split_current
from emstrack.store.database import Database
from emstrack.store.events import events_from_rows, history_rows
from emstrack.store.items import ItemRow
from emstrack.store.schema import item_answers, metadata

NOW = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)
NUMBERS = [f"EE{serial:08d}{check_digit(f'{serial:08d}')}CN" for serial in (12345678, 87654321)]
CODES = ["EMA", "EMB", "EMC", "EMD", "EDA", "EDB", "EDC", "EDH", "EMH", "EMI", "EXX", "ZZZ"]
OFFICES = [("CNBJSD", "CN"), ("DEFRAA", "DE"), ("USJFKA", "US"), (None, None)]
START = datetime(2024, 1, 1, 8, 0)

_event = st.fixed_dictionaries(
    {
        "number": st.sampled_from(NUMBERS),
        "code": st.sampled_from(CODES),
        # Over two years: numbers reused after 12 months become new items, merged when a
        # scan bridges them.
        "hours": st.integers(0, 2 * 365 * 24),
        "office": st.sampled_from(OFFICES),
        "postcode": st.sampled_from([None, "10115", "SW1A 1AA"]),
        "signatory": st.sampled_from([None, "Li Wei"]),
    }
)
_step = st.one_of(
    st.lists(_event, min_size=1, max_size=6).map(lambda batch: ("record", batch)),
    st.sampled_from(CODES).map(lambda code: ("remap", code)),
)

_FEW = examples(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _incoming(spec: dict[str, Any]) -> IncomingEvent:
    office, country = spec["office"]
    when = START + timedelta(hours=int(spec["hours"]))
    fields = {
        "tracking_number": spec["number"],
        "event_code": spec["code"],
        "event_time": when.isoformat(),
        "office_code": office,
        "country": country,
        "destination_postcode": spec["postcode"],
        "signatory": spec["signatory"],
    }
    return parse_record({k: v for k, v in fields.items() if v is not None}, source="test")


def _result_of(
    tracker: Tracker, tn: TrackingNumber, item_rows: list[ItemRow], rows: list[Any]
) -> TrackingResult:
    """The general path's answer of rows read from the events (not from the read model)."""
    if not item_rows:
        return tracker.lookup(tn.number)  # no item: the read model has no row either
    current, earlier = split_current(item_rows)
    events = order_events(events_from_rows(rows))
    return TrackingResult(
        tn, Outcome.FOUND, current, events, state_of(events), earlier_items=earlier
    )


def _expected(tracker: Tracker, number: str) -> list[bytes]:
    """Every answer of `number` computed from the events (the two range reads), not the model."""
    tn = tracker.parse(number)
    with tracker.db.raw_reader() as driver:
        item_rows, rows = history_rows(driver, tracker.db.paramstyle, number)
    result = _result_of(tracker, tn, item_rows, list(rows))
    return [
        orjson.dumps(result.to_dict(lang, private=private))
        for lang in ("en", "zh")
        for private in (False, True)
    ]


def _answered(tracker: Tracker, number: str) -> list[bytes]:
    out = []
    for lang in ("en", "zh"):
        for private in (False, True):
            answer = tracker.answer(number, lang=lang, private=private)
            assert orjson.dumps(answer.body) == orjson.dumps(
                tracker.lookup(number).to_dict(lang, private=private)
            )
            out.append(answer.content())
    return out


def _versions(db: Database) -> dict[str, int]:
    with db.read() as conn:
        query = select(item_answers.c.number, item_answers.c.version)
        return {str(number): int(version) for number, version in conn.execute(query).all()}


@_FEW
@given(steps=st.lists(_step, min_size=1, max_size=6))
def test_the_read_model_answers_as_the_events_after_any_writes(
    db: Database, steps: list[tuple[str, Any]]
) -> None:
    with db.write() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
    tracker = Tracker(db, Settings(database_url="sqlite://"))
    for i, (kind, arg) in enumerate(steps):
        before = _versions(db)
        bodies = {n: _answered(tracker, n) for n in NUMBERS}
        at = NOW + timedelta(minutes=i)
        if kind == "record":
            record(db, [_incoming(spec) for spec in arg], now=at)
        else:

            def change(event: Event, code: object = arg) -> Event | None:
                return replace(event, code="EMI") if event.code == code else None

            remap(db, NUMBERS, change, now=at)
        after = _versions(db)
        for number in NUMBERS:
            assert _answered(tracker, number) == _expected(tracker, number), (number, steps)
            # A number's version goes up when its answer changed, never down.
            if number in before:
                assert after[number] >= before[number]
                if _answered(tracker, number) != bodies[number]:
                    assert after[number] > before[number]


def test_the_version_moves_with_each_write_and_the_validator_with_it(db: Database) -> None:
    tracker = Tracker(db, Settings(database_url="sqlite://"))
    number = NUMBERS[0]
    assert tracker.answer(number).version is None
    spec: dict[str, Any] = {"number": number, "code": "EMA", "hours": 0, "office": OFFICES[0]}
    spec |= {"postcode": None, "signatory": None}
    record(db, [_incoming(spec)], now=NOW)
    v1 = tracker.answer(number).version
    assert v1 is not None
    assert v1.startswith("1.")
    assert tracker.lookup(number).version == v1
    record(db, [_incoming(spec)], now=NOW)  # a duplicate that adds nothing: no change
    assert tracker.answer(number).version == v1
    record(db, [_incoming({**spec, "code": "EMB", "hours": 5})], now=NOW)
    v2 = tracker.answer(number).version
    assert v2 is not None
    assert v2.startswith("2.")
