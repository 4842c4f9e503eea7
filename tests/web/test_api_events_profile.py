"""`POST /api/v1/events?profile=NAME`: an operator's own texts, read by a source profile, with
the same guarantees as the file import: an outcome per event, rejects with their reasons."""

from __future__ import annotations

import httpx
import pytest

from emstrack import keys
from emstrack.keys import KeyScope
from emstrack.store.database import Database

NUMBER = "EE123456785CN"
PHONE = "13905661234"


def _auth(db: Database) -> dict[str, str]:
    return {"Authorization": f"Bearer {keys.create(db, 'chinapost', KeyScope.INGEST).key}"}


def test_texts_read_by_a_profile(client: httpx.Client, db: Database) -> None:
    body = {
        "events": [
            {"mailNo": NUMBER, "opTime": "2026-11-20 10:05", "desc": f"已收寄,联系电话:{PHONE}"},
            {"tracking_number": NUMBER, "event_time": "2026-11-22 23:55", "description": "交航"},
            {"tracking_number": NUMBER, "event_time": "2026-11-23 08:00", "description": "什么"},
            {"tracking_number": NUMBER, "event_time": "2026-11-23 09:00"},
        ]
    }
    auth = _auth(db)
    response = client.post("/api/v1/events?profile=chinapost", json=body, headers=auth)
    assert response.status_code == 200
    doc = response.json()
    assert [r["outcome"] for r in doc["results"]] == ["stored", "stored", "stored", "rejected"]
    assert doc["results"][3]["reasons"] == ["description: required and missing"]
    again = client.post("/api/v1/events?profile=chinapost", json=body, headers=auth).json()
    assert (again["stored"], again["duplicate"], again["rejected"]) == (0, 3, 1)
    found = client.get(f"/api/v1/tracking/{NUMBER}").json()
    assert [e["label"] for e in found["events"]] == [
        "什么",  # unmapped: kept, with its own words
        "Handed over to the airline",
        "Posted / collected",
    ]
    assert found["status"] == "in_transit"
    assert PHONE not in response.text + str(found)


def test_upu_names_over_the_api(client: httpx.Client, db: Database) -> None:
    """`?profile=upu-names`: the UPU's names as their codes; a time whose AM contradicts its
    24-hour clock is that event's rejection alone."""
    body = {
        "events": [
            {"tracking_number": NUMBER, "event_time": "2026-11-20 09:15 AM",
             "description": "Posting/collection", "country": "CN"},
            {"tracking_number": NUMBER, "event_time": "2026-11-20 18:30 PM",
             "description": "arrival at the outward office of exchange", "country": "CN"},
            {"tracking_number": NUMBER, "event_time": "2026-11-20 19:30 AM",
             "description": "Departure from outward office of exchange", "country": "CN"},
        ]
    }  # fmt: skip
    response = client.post("/api/v1/events?profile=upu-names", json=body, headers=_auth(db))
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["outcome"] for r in results] == ["stored", "stored", "rejected"]
    assert "19:30 is a 24-hour time, which contradicts AM" in results[2]["reasons"][0]
    found = client.get(f"/api/v1/tracking/{NUMBER}").json()
    assert [e["code"] for e in found["events"]] == ["EMB", "EMA"]
    assert found["events"][0]["local_time"].startswith("2026-11-20T18:30")


@pytest.mark.parametrize("profile", ["dhl", "../../etc/passwd.toml", "/tmp/mine.toml"])
def test_only_builtin_profiles(client: httpx.Client, db: Database, profile: str) -> None:
    response = client.post(
        "/api/v1/events", params={"profile": profile}, json={"events": []}, headers=_auth(db)
    )
    assert response.status_code == 422
    assert response.json()["code"] == "bad_profile"
