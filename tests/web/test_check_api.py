"""`POST /api/v1/check-message` over real HTTP, on both databases."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import Engine, func, select
from webclient import ServeApp

from emstrack.store.schema import reports

SCAM = "USPS: pay the redelivery fee within 24 hours at https://usps-redelivery.com"


def _reports(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(reports)).scalar_one())


def test_a_scam_is_named_with_reasons(client: httpx.Client, engine: Engine) -> None:
    response = client.post("/api/v1/check-message", json={"text": SCAM})
    assert response.status_code == 200
    body = response.json()
    assert body["verdict"] == "likely_scam"
    assert body["reasons"][0]["code"] == "link_lookalike"
    assert "usps-redelivery.com" in body["reasons"][0]["message"]
    assert {"fee_with_link", "urgency"} <= {r["code"] for r in body["reasons"]}
    assert len(body["advice"]) == 3
    assert body["reported"] is False
    assert _reports(engine) == 0  # nothing stored unless asked


def test_chinese_answer_with_sender(client: httpx.Client) -> None:
    body = client.post(
        "/api/v1/check-message",
        json={"text": "您的包裹已到达，请联系客服。", "sender": "kefu@qq.com", "lang": "zh"},
    ).json()
    assert body["verdict"] == "suspicious"
    assert body["reasons"][0]["code"] == "sender_webmail"
    assert "免费邮箱" in body["reasons"][0]["message"]


def test_tracking_numbers_are_reported(client: httpx.Client) -> None:
    body = client.post(
        "/api/v1/check-message", json={"text": "Parcel EE319390710CN held, EE123456785CN too"}
    ).json()
    outcomes = {n["number"]: n["outcome"] for n in body["tracking_numbers"]}
    assert outcomes == {"EE319390710CN": "invalid", "EE123456785CN": "not_found_yet"}
    assert body["verdict"] == "likely_scam"


def test_report_is_stored_when_asked(client: httpx.Client, engine: Engine) -> None:
    response = client.post(
        "/api/v1/check-message", json={"text": SCAM, "sender": "+15555550100", "report": True}
    )
    assert response.json()["reported"] is True
    with engine.connect() as conn:
        row = conn.execute(select(reports)).mappings().one()
    assert row["text"] == SCAM
    assert row["sender"] == "+15555550100"
    assert row["verdict"] == "likely_scam"
    assert "link_lookalike" in row["reasons"].split()


@pytest.mark.parametrize(
    "body",
    [
        {"text": "x" * 5001},
        {"text": ""},
        {"text": "hi", "lang": "fr"},
        {"text": "hi", "extra": 1},
        {},
    ],
)
def test_bad_bodies_are_422_problems(client: httpx.Client, body: dict[str, object]) -> None:
    response = client.post("/api/v1/check-message", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "bad_request"


def test_counts_against_the_rate_limit(serve_app: ServeApp) -> None:
    with serve_app(rate_limit="2/minute") as http:
        statuses = [
            http.post("/api/v1/check-message", json={"text": "hello"}).status_code for _ in range(3)
        ]
    assert statuses == [200, 200, 429]


def test_documented_in_openapi(client: httpx.Client) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/api/v1/check-message"]["post"]
    assert {"200", "413", "422", "429"} <= set(operation["responses"])
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["properties"]["verdict"]["enum"] == ["likely_scam", "suspicious", "no_red_flags"]
