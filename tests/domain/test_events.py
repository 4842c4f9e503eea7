"""The event catalogue: every UPU code of docs/standards/events.md §1, with labels, leg, status."""

from __future__ import annotations

from datetime import datetime

import pytest

from emstrack.domain.events import (
    CATALOGUE,
    STATUS_LABELS,
    Event,
    Leg,
    Status,
    dedupe_key,
    describe,
    merge,
    status_label,
    status_of,
)

# docs/standards/events.md §1 and §3: code, leg, status, detail.
STANDARD = [
    ("EMA", "origin", "accepted", None),
    ("EMB", "origin", "in_transit", None),
    ("EXA", "origin", "customs_export", "presented"),
    ("EXB", "origin", "customs_export", "held"),
    ("EXC", "origin", "customs_export", "released"),
    ("EXD", "origin", "in_transit", None),
    ("EXX", "origin", "terminated", "export_cancelled"),
    ("EMC", "origin", "in_transit", None),
    ("EMJ", "transit", "in_transit", None),
    ("EMK", "transit", "in_transit", None),
    ("EMD", "destination", "in_transit", None),
    ("EDA", "destination", "in_transit", None),
    ("EDB", "destination", "customs_import", "presented"),
    ("EME", "destination", "customs_import", "held"),
    ("EDC", "destination", "customs_import", "released"),
    ("EMF", "destination", "in_transit", None),
    ("EDD", "destination", "in_transit", None),
    ("EDE", "destination", "in_transit", None),
    ("EMG", "destination", "in_transit", None),
    ("EDF", "destination", "awaiting_pickup", None),
    ("EDG", "destination", "out_for_delivery", None),
    ("EDH", "destination", "awaiting_pickup", None),
    ("EMH", "destination", "delivery_failed", None),
    ("EMI", "destination", "delivered", None),
    ("EDX", "destination", "terminated", "import_terminated"),
]


@pytest.mark.parametrize(("code", "leg", "status", "detail"), STANDARD)
def test_every_standard_code_is_catalogued(
    code: str, leg: str, status: str, detail: str | None
) -> None:
    entry = CATALOGUE[code]
    assert (entry.leg, entry.status, entry.detail) == (Leg(leg), Status(status), detail)
    assert entry.label_en
    assert entry.label_zh
    assert entry.label("zh") == entry.label_zh


def test_catalogue_is_exactly_the_standard() -> None:
    assert set(CATALOGUE) == {row[0] for row in STANDARD}


@pytest.mark.parametrize("code", ["EML", "EMX", "ZZZ", "", "delivered"])
def test_unknown_codes_are_unknown_never_guessed(code: str) -> None:
    assert describe(code) is None
    assert status_of(code) == Status.UNKNOWN


def test_unknown_code_keeps_the_operators_text_but_never_shows_it() -> None:
    event = Event("EML", datetime(2026, 11, 3, 9, 0), description="Item processed")
    assert event.status == Status.UNKNOWN
    assert event.description == "Item processed"  # kept, for operators
    # The free text may name people or places: the label says only what is known.
    assert event.label() == "Other event (code EML)"
    assert event.label("zh") == "其他事件（代码 EML）"


def test_every_status_has_both_labels() -> None:
    assert set(STATUS_LABELS) == set(Status)
    assert status_label(Status.DELIVERED, "zh") == "已妥投"


def test_local_time_without_offset_has_no_utc() -> None:
    event = Event("EMD", datetime(2026, 11, 5, 6, 30), country="US")
    assert event.occurred_utc is None
    shanghai = Event("EMA", datetime(2026, 11, 5, 6, 30), utc_offset_min=480)
    assert shanghai.occurred_utc == datetime.fromisoformat("2026-11-04T22:30:00+00:00")


def _key(spec: str) -> str:
    code, when, office_code, office_name = spec.split("|")
    return dedupe_key(code, datetime.fromisoformat(when), office_code or None, office_name or None)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("EMA|2026-11-05T06:30:00|CNBJSD|", "ema|2026-11-05T06:30:59|cnbjsd|", True),
        ("EMD|2026-11-05T06:30||Frankfurt ", "EMD|2026-11-05T06:30|| FRANKFURT", True),
        ("EMA|2026-11-05T06:30|CNBJSD|", "EMA|2026-11-05T06:31|CNBJSD|", False),
        ("EMA|2026-11-05T06:30|CNBJSD|", "EMC|2026-11-05T06:30|CNBJSD|", False),
        ("EMA|2026-11-05T06:30|CNBJSD|", "EMA|2026-11-05T06:30|CNSHAD|", False),
        ("EMA|2026-11-05T06:30|CNBJSD|Beijing", "EMA|2026-11-05T06:30|CNBJSD|", True),
    ],
)
def test_dedupe_key(a: str, b: str, same: bool) -> None:
    assert (_key(a) == _key(b)) is same


def test_merge_fills_only_empty_fields() -> None:
    stored = Event("EMH", datetime(2026, 11, 7, 11, 0), office_code="DEBERB", reason_text="Absent")
    newcomer = Event(
        "EMH",
        datetime(2026, 11, 7, 11, 0),
        office_code="DEBERB",
        reason_text="Addressee absent",
        action_text="Notice left",
    )
    merged = merge(stored, newcomer)
    assert merged.reason_text == "Absent"
    assert merged.action_text == "Notice left"
    assert merge(merged, newcomer) == merged
