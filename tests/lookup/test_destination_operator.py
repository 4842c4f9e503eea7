"""`destination_operator` in the lookup's answer: null until the item's first event in its
destination country, then that country's operator, on the general path and the fast path alike,
on SQLite and PostgreSQL."""

from __future__ import annotations

import orjson
import pytest
from factories import DELIVERED_TO_DE, Loader, history

from emstrack.config import Settings
from emstrack.domain.lang import Lang
from emstrack.domain.tracking_number import Scope
from emstrack.lookup import Tracker
from emstrack.store.database import Database

NUMBER = "EE123456785CN"
DHL = "https://www.dhl.de/de/privatkunden/pakete-empfangen/verfolgen.html?piececode="


@pytest.fixture
def tracker(db: Database, settings: Settings) -> Tracker:
    return Tracker(db, settings)


def _both(tracker: Tracker, lang: Lang = "en") -> dict[str, object] | None:
    """The field as both paths give it (they must agree byte for byte)."""
    fast = tracker.answer(NUMBER, Scope.ANY, lang, private=False).body
    general = tracker.lookup(NUMBER).to_dict(lang)
    assert orjson.dumps(fast) == orjson.dumps(general)
    found: dict[str, object] | None = general["destination_operator"]
    return found


def test_null_before_the_first_event_in_the_destination_country(
    load: Loader, tracker: Tracker
) -> None:
    # Posted and dispatched in China, its destination known from the record.
    load(*[{**r, "destination_country": "DE"} for r in history(NUMBER, *DELIVERED_TO_DE[:3])])
    assert tracker.lookup(NUMBER).destination_country == "DE"
    assert _both(tracker) is None
    assert tracker.lookup(NUMBER).destination_operator is None


def test_set_from_the_first_event_in_the_destination_country(
    load: Loader, tracker: Tracker
) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE[:4]))  # EMD: arrived at Frankfurt
    assert _both(tracker) == {
        "country": "DE",
        "name": "Deutsche Post DHL",
        "url": "https://www.dhl.de",
        "tracking_url": DHL + NUMBER,
    }
    assert _both(tracker, "zh") == {
        "country": "DE",
        "name": "德国邮政 DHL",
        "url": "https://www.dhl.de",
        "tracking_url": DHL + NUMBER,
    }
    operator = tracker.lookup(NUMBER).destination_operator
    assert operator is not None
    assert operator.country == "DE"
    load(*history(NUMBER, *DELIVERED_TO_DE[4:]))  # delivered: still named
    assert _both(tracker) is not None


def test_null_for_a_domestic_item_and_a_country_not_in_the_directory(
    load: Loader, tracker: Tracker
) -> None:
    load(*history(NUMBER, ("EMA", "2026-11-02T09:12", "CNBJSD", "CN")))
    load(*history(NUMBER, ("EMI", "2026-11-03T09:12", "CNSHAD", "CN")))
    assert _both(tracker) is None  # from China to China: no hand-over
    other = "EE123456799CN"
    load(
        *history(
            other,
            ("EMA", "2026-11-02T09:12", "CNBJSD", "CN"),
            ("EMD", "2026-11-05T09:12", "KHPNHA", "KH"),  # Cambodia: no row in the directory
        )
    )
    assert tracker.lookup(other).to_dict()["destination_operator"] is None


def test_not_found_and_invalid_answers_carry_the_field_as_null(tracker: Tracker) -> None:
    assert tracker.lookup(NUMBER).to_dict()["destination_operator"] is None
    assert tracker.lookup("EE123456784CN").to_dict()["destination_operator"] is None
