"""A status change made by an operator event (docs/import.md, "Profiles") is told with the
profile's label, never with its stand-in code's."""

from __future__ import annotations

import orjson

from emstrack.config import Settings
from emstrack.ingest import profiles
from emstrack.ingest.records import parse_record
from emstrack.ingest.writer import record
from emstrack.notify import messages, subscriptions
from emstrack.store.database import Database
from emstrack.store.outbox import notices

NUMBER = "EE123456785CN"


def test_the_notice_of_an_operator_event(db: Database, settings: Settings) -> None:
    s = settings.model_copy(
        update={"secret_key": "test-secret-key-0123456789", "public_url": "https://t.example"}
    )
    subscriptions.subscribe(
        db, s, number=NUMBER, channel="webhook", target="https://hooks.example.org/h"
    )
    chinapost = profiles.builtin("chinapost")
    for when, text in (("2026-11-20 10:05", "收寄局收寄"), ("2026-11-21 06:12", "交航")):
        row = {"tracking_number": NUMBER, "event_time": when, "description": text}
        record(db, [parse_record(row, profile=chinapost)])
    with db.read() as conn:
        queued = notices(conn)
    by_status = {n.payload["status"]: n for n in queued}
    assert sorted(by_status) == ["accepted", "in_transit"]
    body = orjson.loads(messages.webhook_body(by_status["in_transit"], s))
    assert body["event"]["label"] == "Handed over to the airline"
