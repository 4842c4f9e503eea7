"""The demo's items read through the `chinapost` and `usps` profiles: the status after every
scan, loaded twice without a duplicate, no phone number in a public answer."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from emstrack.config import Settings
from emstrack.demo.feeds import DELIVERED_TO_US, IN_CHINA, feed_rows, load_feeds
from emstrack.ingest import profiles
from emstrack.ingest.records import parse_record
from emstrack.ingest.writer import record
from emstrack.lookup import Tracker
from emstrack.store.database import Database

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)

# The status of DELIVERED_TO_US after each of its scans, in the order they are printed.
STATUSES = [
    "accepted", "in_transit", "in_transit", "in_transit", "in_transit", "in_transit",
    "in_transit", "in_transit", "in_transit", "out_for_delivery", "delivery_failed",
    "out_for_delivery", "delivered",
]  # fmt: skip


def test_the_status_after_every_scan(db: Database, settings: Settings) -> None:
    tracker = Tracker(db, settings)
    rows = [(p, r) for p, r in feed_rows(NOW) if r["tracking_number"] == DELIVERED_TO_US]
    assert len(rows) == len(STATUSES)
    for (profile, row), status in zip(rows, STATUSES, strict=True):
        record(db, [parse_record(row, profile=profiles.builtin(profile), now=NOW)], now=NOW)
        assert tracker.lookup(DELIVERED_TO_US).status == status, row["description"]


def test_loaded_twice_and_read_by_the_public(db: Database, settings: Settings) -> None:
    first = load_feeds(db, NOW)
    assert first.events == len(feed_rows(NOW))
    assert load_feeds(db, NOW).events == 0
    tracker = Tracker(db, settings)
    assert tracker.lookup(IN_CHINA).status == "in_transit"
    latest = tracker.answer(IN_CHINA, lang="zh").body["events"][0]
    assert latest["label"] == "包裹已装车，发往上海"  # unmapped, shown in its own words
    for number in (DELIVERED_TO_US, IN_CHINA):
        for lang in ("en", "zh"):
            assert b"13905661234" not in orjson.dumps(tracker.answer(number, lang=lang).body)
    delivered = tracker.answer(DELIVERED_TO_US).body
    assert delivered["status"] == "delivered"
    # New York's local times, with their offset; China's at UTC+8.
    assert {e["utc_offset"] for e in delivered["events"]} == {"-05:00", "+08:00"}
