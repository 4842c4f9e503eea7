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


@pytest.mark.parametrize("profile", ["dhl", "../../etc/passwd.toml", "/tmp/mine.toml"])
def test_only_builtin_profiles(client: httpx.Client, db: Database, profile: str) -> None:
    response = client.post(
        "/api/v1/events", params={"profile": profile}, json={"events": []}, headers=_auth(db)
    )
    assert response.status_code == 422
    assert response.json()["code"] == "bad_profile"
