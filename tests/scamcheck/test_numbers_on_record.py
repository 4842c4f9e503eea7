"""Tracking numbers in a message, looked up in a real database (both dialects)."""

from __future__ import annotations

from factories import DELIVERED_TO_DE, Loader, history

from emstrack.config import Settings
from emstrack.lookup import Tracker
from emstrack.scamcheck import Verdict, check
from emstrack.store.database import Database

NUMBER = "EE123456785CN"
HELD_BY_CUSTOMS = (
    ("EMA", "2026-11-02T09:12", "CNBJSD", "CN"),
    ("EMC", "2026-11-03T23:05", "CNBJSD", "CN"),
    ("EMD", "2026-11-05T06:30", "DEFRAA", "DE"),
    ("EDB", "2026-11-05T09:00", "DEFRAA", "DE"),
    ("EME", "2026-11-05T15:00", "DEFRAA", "DE"),
)


def _codes(db: Database, settings: Settings, text: str) -> dict[str, dict[str, str]]:
    result = check(text, lookup=Tracker(db, settings).lookup_many)
    return {r.code: r.params for r in result.reasons}


def test_valid_but_not_on_record_is_suspicious(db: Database, settings: Settings) -> None:
    result = check(f"Your item {NUMBER} is ready", lookup=Tracker(db, settings).lookup_many)
    assert [r.code for r in result.reasons] == ["number_not_on_record"]
    assert result.verdict is Verdict.SUSPICIOUS
    assert result.numbers[0].outcome == "not_found_yet"


def test_on_record_shows_the_real_status(load: Loader, db: Database, settings: Settings) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE))
    result = check(f"Your item {NUMBER} was delivered", lookup=Tracker(db, settings).lookup_many)
    assert result.verdict is Verdict.NO_RED_FLAGS
    (reason,) = result.reasons
    assert reason.code == "number_on_record"
    assert "Delivered" in reason.message("en")
    assert "已妥投" in reason.message("zh")
    assert result.numbers[0].to_dict()["status"] == "delivered"


def test_a_false_customs_claim_is_caught(load: Loader, db: Database, settings: Settings) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE))
    codes = _codes(db, settings, f"Your parcel {NUMBER} is held by customs")
    assert "customs_claim_false" in codes


def test_a_real_customs_hold_is_confirmed(load: Loader, db: Database, settings: Settings) -> None:
    load(*history(NUMBER, *HELD_BY_CUSTOMS))
    result = check(
        f"Your parcel {NUMBER} is held by customs", lookup=Tracker(db, settings).lookup_many
    )
    assert [r.code for r in result.reasons] == ["customs_hold_real"]
    assert result.numbers[0].held_by_customs
    assert "11183" in result.reasons[0].message("en")
