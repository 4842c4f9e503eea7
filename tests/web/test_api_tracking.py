"""`GET /api/v1/tracking/{number}` over real HTTP, against a server on loopback."""

from __future__ import annotations

import httpx
from factories import DELIVERED_TO_DE, Loader, history

NUMBER = "EE123456785CN"


def test_found(load: Loader, client: httpx.Client) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE))
    response = client.get("/api/v1/tracking/ee123456785cn")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["outcome"] == "found"
    assert body["status"] == "delivered"
    assert body["events"][0]["code"] == "EMI"


def test_spaces_in_the_path(load: Loader, client: httpx.Client) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE))
    assert client.get("/api/v1/tracking/EE 123 456 785 CN").json()["number"] == NUMBER


def test_chinese_labels(load: Loader, client: httpx.Client) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE))
    body = client.get(f"/api/v1/tracking/{NUMBER}", params={"lang": "zh"}).json()
    assert body["events"][0]["label"] == "已妥投"
    assert body["status_label"] == "已妥投"


def test_not_found_yet_is_404_problem(client: httpx.Client) -> None:
    response = client.get("/api/v1/tracking/RR473124829GB")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "not_found_yet"
    assert body["outcome"] == "not_found_yet"
    assert body["status"] == 404
    assert "first scan" in body["detail"]


def test_invalid_is_422_with_problems_and_suggestions(client: httpx.Client) -> None:
    response = client.get("/api/v1/tracking/EE12345678CN")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid"
    assert body["problems"][0]["code"] == "missing_check_digit"
    assert body["suggestions"][0]["number"] == NUMBER


def test_bad_query_parameter_is_a_problem(client: httpx.Client) -> None:
    response = client.get(f"/api/v1/tracking/{NUMBER}", params={"scope": "moon"})
    assert response.status_code == 422
    assert response.json()["code"] == "bad_request"


def test_unknown_path_is_a_problem(client: httpx.Client) -> None:
    response = client.get("/api/v1/nothing")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_health_and_openapi(client: httpx.Client) -> None:
    assert client.get("/healthz").json()["database"] == "ok"
    spec = client.get("/openapi.json").json()
    assert "/api/v1/tracking/{number}" in spec["paths"]


def test_problems_in_chinese(client: httpx.Client) -> None:
    body = client.get("/api/v1/tracking/EE123456784CN", params={"lang": "zh"}).json()
    assert body["problems"][0]["code"] == "check_digit"
    assert "5" in body["problems"][0]["message"]
    assert "check digit" not in body["problems"][0]["message"]
    numbers = client.get("/api/v1/numbers/EE123456784CN", params={"lang": "zh"}).json()
    assert numbers["problems"][0]["message"] == body["problems"][0]["message"]


def test_the_path_without_a_number_says_so(client: httpx.Client) -> None:
    """Not a redirect (which has no body to read), but the problem of an empty number."""
    response = client.get("/api/v1/tracking/", follow_redirects=False)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [p["code"] for p in response.json()["problems"]] == ["empty"]


def test_a_number_with_a_slash_is_answered_not_redirected(client: httpx.Client) -> None:
    response = client.get("/api/v1/tracking/EE123456785CN%2F", follow_redirects=False)
    assert response.status_code == 404  # the slash is forgiven, as a dash or a dot is
    assert response.json()["number"] == "EE123456785CN"
    response = client.get("/api/v1/tracking/0%2F", follow_redirects=False)
    assert response.status_code == 422
    assert response.json()["outcome"] == "invalid"
