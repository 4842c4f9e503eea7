"""`POST /api/v1/tracking/batch`, `GET /api/v1/numbers/{number}` and the private view."""

from __future__ import annotations

import httpx
import pytest
from factories import DELIVERED_TO_DE, Loader, history

from emstrack import keys
from emstrack.keys import KeyScope
from emstrack.store.database import Database

NUMBER = "EE123456785CN"


def _bearer(db: Database, scope: KeyScope) -> dict[str, str]:
    return {"Authorization": f"Bearer {keys.create(db, 'test', scope).key}"}


def _load_with_personal_data(load: Loader) -> None:
    records = history(NUMBER, *DELIVERED_TO_DE)
    records[-1] |= {"signatory": "Z. Müller", "destination_postcode": "10115"}
    load(*records)


def test_batch_answers_each_number_in_order(load: Loader, client: httpx.Client) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE))
    numbers = ["RR473124829GB", "ee 123 456 785 cn", "EE12345678CN", NUMBER]
    response = client.post("/api/v1/tracking/batch", json={"numbers": numbers})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["outcome"] for r in results] == ["not_found_yet", "found", "invalid", "found"]
    assert [r["number"] for r in results][1:] == [NUMBER, "EE12345678CN", NUMBER]
    single = client.get(f"/api/v1/tracking/{NUMBER}").json()
    assert results[1] == single
    assert results[2]["problems"][0]["code"] == "missing_check_digit"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_batch_answers_are_the_single_answers_bytes(
    load: Loader, client: httpx.Client, lang: str
) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE))
    load(*history("RR473124829GB", *DELIVERED_TO_DE[:3]))
    numbers = [NUMBER, "rr 473 124 829 gb", NUMBER, "RR473124829GB"]
    response = client.post("/api/v1/tracking/batch", json={"numbers": numbers, "lang": lang})
    assert response.status_code == 200
    singles = [client.get(f"/api/v1/tracking/{n}", params={"lang": lang}) for n in numbers]
    assert all(single.status_code == 200 for single in singles)
    assert response.content == b'{"results":[' + b",".join(s.content for s in singles) + b"]}"


def test_batch_labels_in_chinese(load: Loader, client: httpx.Client) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE))
    body = {"numbers": [NUMBER], "lang": "zh"}
    result = client.post("/api/v1/tracking/batch", json=body).json()["results"][0]
    assert (
        result["status_label"]
        == client.get(f"/api/v1/tracking/{NUMBER}", params={"lang": "zh"}).json()["status_label"]
    )


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"numbers": [NUMBER] * 51}, "too_many_numbers"),
        ({"numbers": []}, "bad_request"),
        ({"numbers": "EE123456785CN"}, "bad_request"),
        ({"numbers": [NUMBER], "colour": "red"}, "bad_request"),
        ({}, "bad_request"),
    ],
)
def test_batch_refuses_bad_bodies(client: httpx.Client, body: object, code: str) -> None:
    response = client.post("/api/v1/tracking/batch", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code


def test_fifty_numbers_are_fine(client: httpx.Client) -> None:
    response = client.post("/api/v1/tracking/batch", json={"numbers": [NUMBER] * 50})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 50


def test_public_answers_never_carry_personal_data(load: Loader, client: httpx.Client) -> None:
    _load_with_personal_data(load)
    single = client.get(f"/api/v1/tracking/{NUMBER}").json()
    batch = client.post("/api/v1/tracking/batch", json={"numbers": [NUMBER]}).json()
    for body in (single, batch["results"][0]):
        assert "signatory" not in body["events"][0]
        assert "destination_postcode" not in body["item"]
        assert "Müller" not in str(body)


@pytest.mark.parametrize("scope", [KeyScope.READ_PRIVATE, KeyScope.ADMIN])
def test_a_private_key_sees_personal_fields(
    load: Loader, client: httpx.Client, db: Database, scope: KeyScope
) -> None:
    _load_with_personal_data(load)
    auth = _bearer(db, scope)
    single = client.get(f"/api/v1/tracking/{NUMBER}", headers=auth).json()
    batch = client.post("/api/v1/tracking/batch", json={"numbers": [NUMBER]}, headers=auth)
    for body in (single, batch.json()["results"][0]):
        assert body["events"][0]["signatory"] == "Z. Müller"
        assert body["item"]["destination_postcode"] == "10115"


def test_an_ingest_key_does_not_see_personal_fields(
    load: Loader, client: httpx.Client, db: Database
) -> None:
    _load_with_personal_data(load)
    auth = _bearer(db, KeyScope.INGEST)
    body = client.get(f"/api/v1/tracking/{NUMBER}", headers=auth).json()
    assert "signatory" not in body["events"][0]


def test_a_wrong_key_is_401_even_where_none_is_needed(client: httpx.Client) -> None:
    for headers in ({"Authorization": "Bearer emsk_nonsense"}, {"Authorization": "Basic eDp5"}):
        response = client.get(f"/api/v1/tracking/{NUMBER}", headers=headers)
        assert response.status_code == 401
        assert response.json()["code"] == "invalid_key"
        assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("raw", "number", "service"),
    [
        ("ee 123 456 785 cn", "EE123456785CN", "ems"),
        ("RR473124829GB", "RR473124829GB", "registered"),
    ],
)
def test_numbers_explains_a_valid_number(
    client: httpx.Client, raw: str, number: str, service: str
) -> None:
    response = client.get(f"/api/v1/numbers/{raw}")
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is True
    assert body["number"] == number
    assert body["service"] == service
    assert body["explanation"]


def test_numbers_explains_what_is_wrong(client: httpx.Client) -> None:
    response = client.get("/api/v1/numbers/EE123456789CN")
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "invalid"
    assert body["valid"] is False
    assert body["problems"][0]["part"] == "check_digit"
    assert NUMBER in [s["number"] for s in body["suggestions"]]
    assert "5" in body["detail"]
