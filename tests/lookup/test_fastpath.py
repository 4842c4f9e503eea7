"""`Tracker.answer`, the API's fast path, gives exactly the bytes of `lookup(...).to_dict(...)`;
and the lookup's read connection on SQLite (`Database.raw_reader`) sees every write and recovers
from a failure."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from factories import DELIVERED_TO_DE, Loader, history
from sqlalchemy import select

from emstrack.config import Settings
from emstrack.demo import load_demo
from emstrack.domain.tracking_number import Scope
from emstrack.errors import DatabaseUnavailable
from emstrack.lookup import Outcome, Tracker, TrackingResult
from emstrack.lookup.fastpath import found_document
from emstrack.store.answers import AnswerRow
from emstrack.store.database import Database
from emstrack.store.schema import items

NOW = datetime(2026, 3, 29, 9, 30, tzinfo=UTC)  # as tests/test_demo.py: a clock change in Europe
NUMBER = "EE123456785CN"
#: Numbers that are not found: invalid, a suffix left off, valid without a scan, another carrier.
NOT_FOUND = ("EE123456784CN", "EE123456785", "RR473124829GB", "3312345678901", "hello")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Tracker, list[str]]]:
    settings = Settings(database_url=f"sqlite:///{tmp_path_factory.mktemp('answer')}/t.db")
    db = Database.open(settings)
    load_demo(db, items=400, seed=1, now=NOW)
    with db.read() as conn:
        numbers = sorted(set(conn.execute(select(items.c.number)).scalars()))
    yield Tracker(db, settings), numbers
    db.close()


def _assert_same(tracker: Tracker, raw: str, scope: Scope = Scope.ANY) -> Outcome:
    for lang in ("en", "zh"):
        for private in (False, True):
            answer = tracker.answer(raw, scope, lang, private=private)
            result = tracker.lookup(raw, scope)
            assert answer.content() == orjson.dumps(result.to_dict(lang, private=private)), (
                raw,
                lang,
                private,
            )
            assert answer.outcome == result.outcome
            assert answer.number == result.number
            assert answer.diagnosis == result.diagnosis
    return answer.outcome


def test_every_demo_item_answers_as_the_general_path(demo: tuple[Tracker, list[str]]) -> None:
    tracker, numbers = demo
    statuses, unknown_codes, fast = set(), 0, 0
    for number in numbers:
        assert _assert_same(tracker, number) == Outcome.FOUND
        body = orjson.loads(tracker.answer(number).content())
        statuses.add(body["status"])
        unknown_codes += not all(event["known_code"] for event in body["events"])
        ((tn, read),) = tracker._read([number], Scope.ANY)
        assert not isinstance(read, TrackingResult)
        assert isinstance(read, AnswerRow)
        fast += found_document(tn, *read.rows(), "en", False) is not None
    # The demo's scenarios: every kind of history, unknown codes and terminations included.
    assert {"delivered", "in_transit", "customs_import", "terminated", "returning"} <= statuses
    assert unknown_codes
    assert fast == len(numbers)  # no two demo events share an instant and a journey step


def test_numbers_without_an_item_answer_as_the_general_path(
    demo: tuple[Tracker, list[str]],
) -> None:
    tracker, _ = demo
    for raw in NOT_FOUND:
        assert _assert_same(tracker, raw) != Outcome.FOUND
    assert _assert_same(tracker, NUMBER, Scope.DOMESTIC) == Outcome.INVALID


def test_answer_many_keeps_the_order_given(demo: tuple[Tracker, list[str]]) -> None:
    tracker, numbers = demo
    raws = [numbers[0], "EE123456784CN", numbers[1], "RR473124829GB"]
    answers = tracker.answer_many(raws, lang="zh", private=True)
    assert [a.body for a in answers] == [
        r.to_dict("zh", private=True) for r in tracker.lookup_many(raws)
    ]


def test_events_at_the_same_instant_take_the_general_path(
    load: Loader, db: Database, settings: Settings
) -> None:
    # Two scans at the same minute, step and office (different names): only the full key of
    # `order_events` orders them, so the answer falls back to it; it must still match.
    tracker = Tracker(db, settings)
    same = {"tracking_number": NUMBER, "event_code": "EMD", "event_time": "2026-11-05T06:30"}
    load(
        *history(NUMBER, *DELIVERED_TO_DE[:3]),
        {**same, "office_code": "DEFRAA", "country": "DE", "office_name": "B"},
        {**same, "office_code": "DEFRAA", "country": "DE", "office_name": "A"},
        {**same, "event_code": "XYZ", "office_code": "DEFRAA", "country": "DE"},
        {**same, "event_code": "ABC", "office_code": "DEFRAA", "country": "DE"},
    )
    assert _assert_same(tracker, NUMBER) == Outcome.FOUND


def test_the_read_connection_sees_every_write(
    load: Loader, db: Database, settings: Settings
) -> None:
    tracker = Tracker(db, settings)
    assert tracker.answer(NUMBER).outcome == Outcome.NOT_FOUND_YET
    load(*history(NUMBER, *DELIVERED_TO_DE[:2]))
    assert len(tracker.answer(NUMBER).body["events"]) == 2
    load(*history(NUMBER, *DELIVERED_TO_DE))
    assert len(tracker.lookup(NUMBER).events) == len(DELIVERED_TO_DE)
    db.dispose()  # a new pool: the lookups connect again
    assert tracker.answer(NUMBER).body["status"] == "delivered"


class _Broken:
    """A connection whose disk has gone: every statement fails."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def cursor(self) -> sqlite3.Cursor:
        raise sqlite3.OperationalError("disk I/O error")

    def close(self) -> None:
        self.connection.close()


def test_a_failed_read_is_an_outage_and_the_next_read_recovers(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 't.db'}")
    db = Database.open(settings)
    tracker = Tracker(db, settings)
    assert tracker.answer(NUMBER).outcome == Outcome.NOT_FOUND_YET
    readers = db._readers
    assert readers is not None
    assert readers.driver is not None
    broken = readers.driver = _Broken(readers.driver)
    with pytest.raises(DatabaseUnavailable), db.raw_reader() as driver:  # a 503 on the web
        driver.cursor()
    assert readers.driver is None
    assert tracker.answer(NUMBER).outcome == Outcome.NOT_FOUND_YET
    # A lookup whose connection fails drops it and tries once more, on a new one.
    fresh: Any = getattr(readers, "driver")  # noqa: B009 (mypy narrowed it to None above)
    readers.driver = broken = _Broken(fresh)
    assert tracker.answer(NUMBER).outcome == Outcome.NOT_FOUND_YET
    assert readers.driver is not None
    assert readers.driver is not broken
    db.close()
