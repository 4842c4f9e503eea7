"""`emstrack consume`'s loop against the real brokers (NATS JetStream, RabbitMQ) and databases.

Each test runs `ingest.broker.consume` in this process on a transport of the real broker, with
names of its own, until the messages it published are settled: stored and acknowledged, or
dead-lettered with their reason and acknowledged, or (the database down) handed back and
delivered again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from brokers import TestBroker, broker
from eventfiles import assert_consistent, count_events, s10, stored_events

from emstrack.config import Settings
from emstrack.errors import DatabaseUnavailable
from emstrack.ingest import profiles
from emstrack.ingest.broker import Counts, Handler, Transport, consume, message_handler
from emstrack.ingest.messages import Handled
from emstrack.store.database import Database

__all__ = ["broker"]  # the fixture, used by name

pytestmark = pytest.mark.slow


def event(serial: int, code: str = "EMA", when: str = "2026-11-24T09:30", **more: Any) -> Any:
    return {
        "tracking_number": s10(serial),
        "event_code": code,
        "event_time": when,
        "office_code": "CNBJSD",
        **more,
    }


async def _drive(
    transport: Transport,
    handler: Handler,
    until: Callable[[Counts], bool],
    timeout: float = 90.0,
) -> Counts:
    """Consume until `until(counts)`, then stop as SIGTERM would; the counts."""
    stop = asyncio.Event()

    def on_change(counts: Counts) -> None:
        if until(counts):
            stop.set()

    try:
        return await asyncio.wait_for(
            consume(
                transport,
                handler,
                stop=stop,
                fetch_timeout=0.5,
                first_backoff=0.2,
                on_change=on_change,
            ),
            timeout,
        )
    finally:
        await transport.close()


def run(
    broker: TestBroker,
    db: Database,
    settings: Settings,
    messages: list[Any],
    *,
    until: Callable[[Counts], bool] | None = None,
    handler: Handler | None = None,
) -> Counts:
    async def main() -> Counts:
        transport = await broker.open()
        await broker.publish(*messages)
        return await _drive(
            transport,
            handler or message_handler(db, settings, profiles.builtin("upu")),
            until or (lambda counts: counts.messages >= len(messages)),
        )

    return asyncio.run(main())


def test_one_event_and_an_array_are_stored_and_acknowledged(
    broker: TestBroker, db: Database, settings: Settings
) -> None:
    counts = run(
        broker,
        db,
        settings,
        [event(1), [event(2), event(2, "EMB", "2026-11-24T19:30"), event(3)]],
    )
    assert (counts.messages, counts.stored, counts.duplicate, counts.rejected) == (2, 4, 0, 0)
    assert counts.dead_lettered == 0
    assert count_events(db) == 4
    assert_consistent(db)
    rows = stored_events(db)
    source = "nats:" if broker.kind == "nats" else "amqp:"
    assert all(str(row["source"]).startswith(source) for row in rows)
    assert asyncio.run(broker.unsettled()) == 0
    assert asyncio.run(broker.dead_letters()) == []


def test_a_source_in_the_event_is_kept(
    broker: TestBroker, db: Database, settings: Settings
) -> None:
    run(broker, db, settings, [event(4, source="feed-7")])
    assert [row["source"] for row in stored_events(db)] == ["feed-7"]


def test_profiles_by_event_and_by_message(
    broker: TestBroker, db: Database, settings: Settings
) -> None:
    texts = {
        "tracking_number": s10(5),
        "event_time": "2026-11-24 09:30",
        "description": "收寄局收寄",
        "profile": "chinapost",
    }
    names = {
        "profile": "upu-names",
        "events": [
            {
                "tracking_number": s10(6),
                "event_time": "2026-11-24T09:30",
                "description": "Posting/collection",
                "country": "CN",
            }
        ],
    }
    unknown = {**texts, "profile": "no-such-profile"}
    counts = run(broker, db, settings, [texts, names, unknown])
    assert (counts.stored, counts.rejected, counts.dead_lettered) == (2, 1, 1)
    codes = {(row["number"], row["code"]) for row in stored_events(db)}
    assert codes == {(s10(5), "EMA"), (s10(6), "EMA")}
    ((_, letter),) = asyncio.run(broker.dead_letters())
    (bad,) = letter["rejected"]
    assert "no profile named 'no-such-profile'" in bad["reasons"][0]


def test_a_body_that_is_not_events_is_dead_lettered_whole_with_its_reason(
    broker: TestBroker, db: Database, settings: Settings
) -> None:
    bodies = [b"{not json", b"\xff\xfe", b"42", b"[]", b'{"events": "many"}']
    counts = run(broker, db, settings, bodies)
    assert (counts.messages, counts.dead_lettered, counts.stored) == (5, 5, 0)
    letters = asyncio.run(broker.dead_letters())
    assert [letter["kind"] for _, letter in letters] == ["not_events"] * 5
    reasons = [letter["reason"] for _, letter in letters]
    assert reasons[0].startswith("the body is not JSON")
    assert reasons[1].startswith("the body is not UTF-8")
    assert reasons[2] == "the body is a JSON int: send one event object or an array of them"
    assert reasons[3] == "the body is an empty array: no events"
    assert letters[0][1]["body"] == "{not json"
    assert letters[1][1]["body"] is None
    assert letters[1][1]["body_base64"] == "//4="
    assert all(headers["Emstrack-Reason"] for headers, _ in letters)
    assert asyncio.run(broker.unsettled()) == 0


def test_good_events_are_stored_and_the_bad_ones_dead_lettered(
    broker: TestBroker, db: Database, settings: Settings
) -> None:
    bad = {"tracking_number": "EE123456789CN", "event_code": "EMA"}
    message = [event(7), bad, "text", event(8)]
    counts = run(broker, db, settings, [message])
    assert (counts.stored, counts.rejected, counts.dead_lettered) == (2, 2, 1)
    assert count_events(db) == 2
    ((headers, letter),) = asyncio.run(broker.dead_letters())
    assert headers["Emstrack-Reason"] == "2 of 4 events rejected"
    assert (letter["kind"], letter["stored"], letter["duplicate"]) == ("rejected_events", 2, 0)
    assert [r["index"] for r in letter["rejected"]] == [1, 2]
    assert letter["rejected"][0]["event"] == bad
    reasons = letter["rejected"][0]["reasons"]
    assert "event_time: required and missing" in reasons
    assert any(r.startswith("tracking_number:") for r in reasons)
    assert letter["rejected"][1]["reasons"] == ["expected an event object"]
    assert letter["body"].startswith("[{")
    assert asyncio.run(broker.unsettled()) == 0


def test_with_the_database_down_a_message_is_handed_back_and_stored_later(
    broker: TestBroker, db: Database, settings: Settings
) -> None:
    real = message_handler(db, settings, None)
    calls: list[bytes] = []

    def flaky(body: bytes, source: str) -> Handled:
        calls.append(body)
        if len(calls) <= 2:
            raise DatabaseUnavailable("The database did not answer.", "Try again shortly.")
        return real(body, source)

    counts = run(broker, db, settings, [event(9)], handler=flaky)
    assert counts.retried == 2  # handed back twice, then delivered a third time
    assert len(calls) == 3
    assert len(set(calls)) == 1
    assert (counts.messages, counts.stored, counts.dead_lettered) == (1, 1, 0)
    assert count_events(db) == 1
    assert asyncio.run(broker.dead_letters()) == []
    assert asyncio.run(broker.unsettled()) == 0


def test_a_redelivery_after_the_commit_stores_nothing_twice(
    broker: TestBroker, db: Database, settings: Settings
) -> None:
    """A consumer that dies between the commit and the acknowledgement: the message comes
    back, and its events are duplicates."""
    handler = message_handler(db, settings, None)

    async def main() -> tuple[Counts, int]:
        first = await broker.open()
        await broker.publish([event(10), event(11)])
        (delivery,) = await _fetch_one(first)
        handled = await asyncio.to_thread(handler, delivery.body, delivery.source)
        assert handled.stored == 2
        await first.close()  # "killed": never acknowledged
        committed = count_events(db)
        second = await broker.open()
        counts = await _drive(second, handler, lambda c: c.messages >= 1)
        return counts, committed

    counts, committed = asyncio.run(main())
    assert committed == 2
    assert (counts.messages, counts.stored, counts.duplicate) == (1, 0, 2)
    assert count_events(db) == 2
    assert_consistent(db)
    assert asyncio.run(broker.unsettled()) == 0


async def _fetch_one(transport: Transport) -> Any:
    for _ in range(40):
        got = await transport.fetch(1, 0.5)
        if got:
            return got
    raise AssertionError("no message came")
