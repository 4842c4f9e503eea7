"""The lookup: one number in, the item, its status and its history (or a diagnosis) out."""

from __future__ import annotations

import pytest
from factories import DELIVERED_TO_DE, Loader, history

from emstrack.config import Settings
from emstrack.domain.tracking_number import Scope
from emstrack.lookup import Outcome, Tracker
from emstrack.store.database import Database

NUMBER = "EE123456785CN"


@pytest.fixture
def tracker(db: Database, settings: Settings) -> Tracker:
    return Tracker(db, settings)


def test_found_item_has_status_route_and_events_newest_first(
    load: Loader, tracker: Tracker
) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE))
    result = tracker.lookup("ee 123 456 785 cn")
    doc = result.to_dict()
    assert doc["outcome"] == "found"
    assert doc["number"] == NUMBER
    assert doc["status"] == "delivered"
    assert [e["code"] for e in doc["events"]] == [s[0] for s in reversed(DELIVERED_TO_DE)]
    assert doc["item"]["origin_country"] == "CN"
    assert doc["item"]["destination_country"] == "DE"
    assert doc["item"]["service"] == "ems"
    assert doc["item"]["issuer"] == "China Post"
    first = doc["events"][-1]
    assert first["local_time"] == "2026-11-02T09:12:00"
    assert first["utc_offset"] == "+08:00"
    assert first["utc_time"] == "2026-11-02T01:12:00Z"
    for event in doc["events"]:
        assert set(event) >= {
            "code", "label", "status", "local_time", "utc_offset", "utc_time",
            "office_code", "office_name", "country",
        }  # fmt: skip


def test_public_view_hides_personal_data(load: Loader, tracker: Tracker) -> None:
    load(
        {
            "tracking_number": NUMBER,
            "event_code": "EMI",
            "event_time": "2026-11-07T11:45",
            "office_name": "10115 BERLIN",
            "country": "DE",
            "signatory": "Erika Mustermann",
            "destination_postcode": "10115",
            "description": "left with neighbour at Hauptstr. 5",
        }
    )
    result = tracker.lookup(NUMBER)
    public = result.to_dict()
    assert "Mustermann" not in str(public)
    assert "Hauptstr" not in str(public)
    assert "destination_postcode" not in public["item"]
    private = result.to_dict(private=True)
    assert private["events"][0]["signatory"] == "Erika Mustermann"
    assert private["item"]["destination_postcode"] == "10115"


def test_unknown_offset_is_never_called_utc(load: Loader, tracker: Tracker) -> None:
    load(*history("EE123456785US", ("EMD", "2026-11-05T06:30", "USJFKA", "US")))
    event = tracker.lookup("EE123456785US").to_dict()["events"][0]
    assert event["local_time"] == "2026-11-05T06:30:00"
    assert event["utc_offset"] is None
    assert event["utc_time"] is None


def test_valid_number_without_scans_is_not_found_yet(tracker: Tracker) -> None:
    result = tracker.lookup("RR473124829GB")
    assert result.outcome == Outcome.NOT_FOUND_YET
    assert result.diagnosis is not None
    assert "48" in result.diagnosis.message
    assert result.to_dict()["status"] is None


def test_invalid_number_offers_the_item_on_record_first(load: Loader, tracker: Tracker) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE[:1]))
    result = tracker.lookup("EE123456784CN")
    doc = result.to_dict()
    assert doc["outcome"] == "invalid"
    assert doc["problems"][0]["code"] == "check_digit"
    assert "should be 5, not 4" in doc["problems"][0]["message"]
    assert doc["suggestions"][0]["number"] == NUMBER
    assert doc["suggestions"][0]["on_record"] is True


def test_transposed_digits_suggest_the_known_item(load: Loader, tracker: Tracker) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE[:1]))
    doc = tracker.lookup("EE213456785CN").to_dict()
    assert doc["outcome"] == "invalid"
    assert NUMBER in [s["number"] for s in doc["suggestions"] if s["on_record"]]


def test_substitution_candidates_only_when_on_record(load: Loader, tracker: Tracker) -> None:
    # EE123456785CN with its 8th serial digit changed: not valid; the one-digit repairs are
    # shown only if the service knows them.
    unknown = tracker.lookup("EE123456795CN").to_dict()
    assert all(s["reason"] != "substitution" for s in unknown["suggestions"])
    load(*history(NUMBER, *DELIVERED_TO_DE[:1]))
    known = tracker.lookup("EE123456795CN").to_dict()
    assert [s["number"] for s in known["suggestions"] if s["on_record"]] == [NUMBER]


def test_missing_country_suffix(tracker: Tracker) -> None:
    doc = tracker.lookup("EE123456785").to_dict()
    assert doc["outcome"] == "invalid"
    assert doc["problems"][0]["code"] == "missing_country"
    assert "CN" in doc["problems"][0]["message"]
    assert doc["suggestions"][0]["number"] == NUMBER


def test_domestic_number(load: Loader, tracker: Tracker) -> None:
    load(*history("1012345678901", ("EMA", "2026-11-20T10:00", "", "CN")))
    result = tracker.lookup("1012 3456 7890 1")
    assert result.outcome == Outcome.FOUND
    assert result.to_dict()["item"]["kind"] == "domestic"
    assert result.events[0].utc_offset_min == 480


def test_domestic_scope_refuses_s10_number(tracker: Tracker) -> None:
    result = tracker.lookup(NUMBER, Scope.DOMESTIC)
    assert result.outcome == Outcome.INVALID


def test_unknown_domestic_prefix_is_unknown(tracker: Tracker) -> None:
    result = tracker.lookup("3312345678901")
    assert result.outcome == Outcome.UNKNOWN


def test_unknown_code_is_listed_but_does_not_replace_status(load: Loader, tracker: Tracker) -> None:
    load(
        *history(NUMBER, ("EMA", "2026-11-02T09:12", "CNBJSD", "CN")),
        {
            "tracking_number": NUMBER,
            "event_code": "EML",
            "event_time": "2026-11-03T09:00",
            "office_code": "CNBJSD",
            "description": "Item processed",
        },
    )
    doc = tracker.lookup(NUMBER).to_dict()
    assert doc["status"] == "accepted"
    assert doc["events"][0]["code"] == "EML"
    assert doc["events"][0]["status"] == "unknown"
    # The operator's free text is private: the public label says only what is known.
    assert doc["events"][0]["label"] == "Other event (code EML)"
    assert "Item processed" not in str(doc)
    private = tracker.lookup(NUMBER).to_dict(private=True)
    assert private["events"][0]["description"] == "Item processed"


def test_reused_number_shows_the_current_item(load: Loader, tracker: Tracker) -> None:
    load(*history(NUMBER, ("EMA", "2024-05-02T09:12", "CNBJSD", "CN")))
    load(*history(NUMBER, ("EMI", "2024-05-12T09:12", "DEBERB", "DE")))
    load(*history(NUMBER, ("EMA", "2026-11-02T09:12", "CNSHAD", "CN")))
    result = tracker.lookup(NUMBER)
    assert result.status is not None
    assert result.status.value == "accepted"
    assert [e.code for e in result.events] == ["EMA"]
    assert [item.generation for item in result.earlier_items] == [1]
    assert result.to_dict()["earlier_items"][0]["status"] == "delivered"


def test_lookup_many_keeps_the_order(load: Loader, tracker: Tracker) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE[:1]))
    results = tracker.lookup_many(["RR473124829GB", "bad", NUMBER])
    assert [r.outcome for r in results] == [
        Outcome.NOT_FOUND_YET,
        Outcome.INVALID,
        Outcome.FOUND,
    ]
