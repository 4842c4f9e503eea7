"""The unlock proof cannot be planted: a postcode that came only with a duplicate's extra detail
proves nothing, and a later different value never replaces the first (issue: an ingest key could
set the proof by re-sending an existing event with a postcode of its choosing).

Through the real server on loopback, on both databases.
"""

from __future__ import annotations

from typing import Any

import httpx
from factories import DELIVERED_TO_DE, history

from emstrack import keys
from emstrack.keys import KeyScope
from emstrack.store.database import Database

NUMBER = "EE123456785CN"
SIGNATORY = "Erika Mustermann"


def _key(db: Database, scope: KeyScope) -> dict[str, str]:
    return {"Authorization": f"Bearer {keys.create(db, f'k-{scope}', scope).key}"}


def _push(client: httpx.Client, auth: dict[str, str], records: list[dict[str, Any]]) -> list[str]:
    response = client.post("/api/v1/events", json={"events": records}, headers=auth)
    assert response.status_code == 200, response.text
    return [r["outcome"] for r in response.json()["results"]]


def _delivered(postcode: str | None = None) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = list(history(NUMBER, *DELIVERED_TO_DE))
    records[-1] = records[-1] | {"signatory": SIGNATORY}
    if postcode is not None:
        records[-1] = records[-1] | {"destination_postcode": postcode}
    return records


def _unlock(client: httpx.Client, postcode: str) -> httpx.Response:
    client.get(f"/track/{NUMBER}", headers={"Accept": "text/html"})
    return client.post(
        f"/track/{NUMBER}/details", data={"postcode": postcode}, headers={"Accept": "text/html"}
    )


def _private_item(client: httpx.Client, auth: dict[str, str]) -> dict[str, Any]:
    response = client.get(f"/api/v1/tracking/{NUMBER}", headers=auth)
    assert response.status_code == 200
    item: dict[str, Any] = response.json()["item"]
    return item


def test_a_duplicate_cannot_plant_the_proof(client: httpx.Client, db: Database) -> None:
    ingest = _key(db, KeyScope.INGEST)
    assert set(_push(client, ingest, _delivered())) == {"stored"}
    # The attack: the delivery scan again, now "carrying" a postcode of the attacker's choice.
    planted = _delivered()[-1] | {"destination_postcode": "PWN2"}
    assert _push(client, ingest, [planted]) == ["duplicate"]

    response = _unlock(client, "PWN2")
    assert response.status_code == 403
    assert SIGNATORY not in response.text
    assert "cannot serve as proof" in response.text
    # The page offers no postcode form for such an item, and says why.
    page = client.get(f"/track/{NUMBER}", headers={"Accept": "text/html"}).text
    assert 'name="postcode"' not in page
    assert "cannot serve as proof" in page

    # Operators still see what was sent, marked as unverified.
    item = _private_item(client, _key(db, KeyScope.READ_PRIVATE))
    assert item["destination_postcode"] == "PWN2"
    assert item["destination_postcode_verified"] is False


def test_the_refusal_is_in_chinese_too(client: httpx.Client, db: Database) -> None:
    ingest = _key(db, KeyScope.INGEST)
    _push(client, ingest, _delivered())
    _push(client, ingest, [_delivered()[-1] | {"destination_postcode": "PWN2"}])
    page = client.get(f"/track/{NUMBER}?lang=zh", headers={"Accept": "text/html"}).text
    assert "不能作为验证依据" in page


def test_a_later_different_postcode_is_a_conflict(client: httpx.Client, db: Database) -> None:
    ingest = _key(db, KeyScope.INGEST)
    assert set(_push(client, ingest, _delivered("10115"))) == {"stored"}
    # A duplicate and a new event, both with another postcode: neither replaces the first.
    _push(client, ingest, [_delivered()[-1] | {"destination_postcode": "PWN2"}])
    late = {
        "tracking_number": NUMBER,
        "event_code": "EME",
        "event_time": "2026-11-06T16:00",
        "office_code": "DEFRAA",
        "country": "DE",
        "destination_postcode": "99999",
    }
    assert _push(client, ingest, [late]) == ["stored"]

    assert _unlock(client, "PWN2").status_code == 403
    assert _unlock(client, "99999").status_code == 403
    response = _unlock(client, "10115")
    assert response.status_code == 200
    assert SIGNATORY in response.text

    item = _private_item(client, _key(db, KeyScope.READ_PRIVATE))
    assert item["destination_postcode"] == "10115"
    assert item["destination_postcode_verified"] is True
    seen = {(c["field"], c["value"], c["source"]) for c in item["conflicts"]}
    assert {(f, v) for f, v, _ in seen} == {
        ("destination_postcode", "PWN2"),
        ("destination_postcode", "99999"),
    }
    assert all(c["first_seen_at"].endswith("Z") for c in item["conflicts"])


def test_a_proven_postcode_replaces_a_merged_one(client: httpx.Client, db: Database) -> None:
    """A postcode that came with a newly stored scan is the proof, even after a merged one."""
    ingest = _key(db, KeyScope.INGEST)
    _push(client, ingest, _delivered()[:3])
    _push(client, ingest, [_delivered()[0] | {"destination_postcode": "PWN2"}])  # duplicate
    rest = _delivered("10115")[3:]
    assert set(_push(client, ingest, rest)) == {"stored"}
    assert _unlock(client, "PWN2").status_code == 403
    assert _unlock(client, "10115").status_code == 200
    item = _private_item(client, _key(db, KeyScope.READ_PRIVATE))
    assert (item["destination_postcode"], item["destination_postcode_verified"]) == (
        "10115",
        True,
    )
    assert [(c["field"], c["value"]) for c in item["conflicts"]] == [
        ("destination_postcode", "PWN2")
    ]


def test_the_public_answer_says_nothing_of_it(client: httpx.Client, db: Database) -> None:
    ingest = _key(db, KeyScope.INGEST)
    _push(client, ingest, _delivered("10115"))
    _push(client, ingest, [_delivered()[-1] | {"destination_postcode": "PWN2"}])
    body = client.get(f"/api/v1/tracking/{NUMBER}").json()
    assert "destination_postcode_verified" not in body["item"]
    assert "conflicts" not in body["item"]
    assert "PWN2" not in str(body)
