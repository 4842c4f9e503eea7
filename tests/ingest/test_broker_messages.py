"""A broker's message body read as events (`ingest.messages`), without a broker.

The property: however a stream of events is cut into messages (one event, arrays of any size),
the database ends the same as when they all come in one message, and sending every message
again stores nothing more.
"""

from __future__ import annotations

import itertools
from typing import Any

import orjson
import pytest
from eventfiles import empty_tables, s10, stored_events, stored_items
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from emstrack.config import Settings
from emstrack.ingest.messages import NotEvents, handle, read_body
from emstrack.store.database import Database

EVENTS: list[dict[str, Any]] = [
    {"tracking_number": s10(n), "event_code": code, "event_time": when, "office_code": office}
    for n in (21, 22, 23)
    for code, when, office in (
        ("EMA", "2026-11-24T09:30", "CNBJSA"),
        ("EMC", "2026-11-25T02:10", "CNBJSD"),
        ("EMD", "2026-11-26T14:00", "DEFRAA"),
        ("EMI", "2026-11-28T10:45", "DEBERA"),
    )
]
# A repeat within the stream and a bad event among them.
STREAM = [*EVENTS, EVENTS[0], {"tracking_number": s10(24), "event_code": "EMA"}]


def _state(db: Database) -> tuple[Any, ...]:
    events = sorted(
        (str(row["number"]), str(row["code"]), str(row["occurred_local"]))
        for row in stored_events(db)
    )
    items = sorted(
        (str(row["number"]), row["generation"], row["status"], row["event_count"])
        for row in stored_items(db)
    )
    return tuple(events), tuple(items)


def _send(db: Database, settings: Settings, bodies: list[bytes]) -> tuple[int, int, int]:
    stored = duplicate = rejected = 0
    for body in bodies:
        handled = handle(db, body, source="test", settings=settings)
        stored += handled.stored
        duplicate += handled.duplicate
        rejected += handled.rejected
    return stored, duplicate, rejected


def _bodies(cuts: list[int], single_objects: bool) -> list[bytes]:
    bounds = [0, *sorted(set(cuts)), len(STREAM)]
    bodies = []
    for start, end in itertools.pairwise(bounds):
        part = STREAM[start:end]
        if not part:
            continue
        one = single_objects and len(part) == 1
        bodies.append(orjson.dumps(part[0] if one else part))
    return bodies


@hsettings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    cuts=st.lists(st.integers(min_value=1, max_value=len(STREAM) - 1), max_size=len(STREAM)),
    single_objects=st.booleans(),
)
def test_how_events_are_cut_into_messages_does_not_matter(
    db: Database, settings: Settings, cuts: list[int], single_objects: bool
) -> None:
    empty_tables(db)
    _send(db, settings, [orjson.dumps(STREAM)])
    whole = _state(db)
    empty_tables(db)
    bodies = _bodies(cuts, single_objects)
    stored, duplicate, rejected = _send(db, settings, bodies)
    assert _state(db) == whole
    assert (stored, duplicate, rejected) == (len(EVENTS), 1, 1)
    # Everything again (a redelivery of every message): nothing more is stored.
    assert _send(db, settings, bodies) == (0, len(EVENTS) + 1, 1)
    assert _state(db) == whole


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "the body is not JSON"),
        (b"null", "the body is a JSON NoneType"),
        (b'"EE123456785CN"', "the body is a JSON str"),
        (b'{"events": []}', "the body is an empty array"),
        (b'{"events": {}}', '"events" must be an array'),
        (b'{"profile": 3, "events": [{}]}', '"profile" must be the name'),
    ],
)
def test_bodies_that_are_not_events(body: bytes, reason: str) -> None:
    with pytest.raises(NotEvents) as caught:
        read_body(body, 10)
    assert caught.value.message.startswith(reason)


def test_too_many_events_for_one_message() -> None:
    with pytest.raises(NotEvents, match="11 events; one message takes at most 10"):
        read_body(orjson.dumps([{}] * 11), 10)


def test_an_object_with_events_and_a_tracking_number_is_one_event() -> None:
    body = {"tracking_number": "EE123456785CN", "events": "kept in the raw payload"}
    assert read_body(orjson.dumps(body), 10) == ([body], None)
