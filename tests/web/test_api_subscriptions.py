"""`/api/v1/subscriptions` over real HTTP, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from webclient import ServeApp

from emstrack import keys
from emstrack.keys import KeyScope
from emstrack.notify import tokens
from emstrack.store.database import Database
from emstrack.store.outbox import notices

NUMBER = "EE123456785CN"
HOOK = "http://127.0.0.1:9/hooks/emstrack"
PUBLIC_URL = "https://track.example.org"


#: What subscriptions need: a secret key for their links, and here a webhook on loopback.
NOTIFY: dict[str, Any] = {
    "secret_key": "x" * 40,
    "notify_allow_private_urls": True,
    "public_url": PUBLIC_URL,
}


@pytest.fixture
def client(serve_app: ServeApp) -> Iterator[httpx.Client]:
    with serve_app(**NOTIFY) as http:
        yield http


def bearer(db: Database, scope: KeyScope, name: str = "shop") -> dict[str, str]:
    return {"Authorization": f"Bearer {keys.create(db, name, scope).key}"}


def webhook(**extra: Any) -> dict[str, Any]:
    return {"number": "ee 123 456 785 cn", "channel": "webhook", "url": HOOK, **extra}


def test_a_webhook_is_created_once_and_its_secret_shown_once(
    db: Database, client: httpx.Client
) -> None:
    auth = bearer(db, KeyScope.WEBHOOKS)
    first = client.post("/api/v1/subscriptions", json=webhook(lang="zh"), headers=auth)
    assert first.status_code == 201
    body = first.json()
    assert body["number"] == NUMBER
    assert body["channel"] == "webhook"
    assert body["state"] == "active"
    assert body["url"] == HOOK
    assert body["secret"] == tokens.webhook_secret("x" * 40, body["id"])
    assert body["signature"] == {
        "header": "X-Emstrack-Signature",
        "timestamp_header": "X-Emstrack-Timestamp",
        "event_id_header": "X-Emstrack-Event-Id",
        "scheme": "HMAC-SHA256 over `{timestamp}.{body}`",
    }
    assert body["unsubscribe_url"].startswith(f"{PUBLIC_URL}/subscriptions/unsubscribe?token=")

    again = client.post("/api/v1/subscriptions", json=webhook(), headers=auth)
    assert again.status_code == 200
    assert again.json()["id"] == body["id"]
    assert "secret" not in again.json()


@pytest.mark.parametrize(
    ("scope", "status", "code"),
    [(None, 401, "invalid_key"), (KeyScope.INGEST, 403, "insufficient_scope")],
)
def test_a_webhook_needs_a_webhooks_key(
    db: Database, client: httpx.Client, scope: KeyScope | None, status: int, code: str
) -> None:
    auth = bearer(db, scope) if scope else {}
    response = client.post("/api/v1/subscriptions", json=webhook(), headers=auth)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code


def test_an_admin_key_may_subscribe_webhooks(db: Database, client: httpx.Client) -> None:
    auth = bearer(db, KeyScope.ADMIN)
    assert client.post("/api/v1/subscriptions", json=webhook(), headers=auth).status_code == 201


def test_an_email_needs_no_key_and_is_sent_only_a_confirmation(
    db: Database, client: httpx.Client
) -> None:
    email = {"number": NUMBER, "channel": "email", "email": "alice@Example.COM", "lang": "zh"}
    response = client.post("/api/v1/subscriptions", json=email)
    assert response.status_code == 202
    assert response.json() == {
        "number": NUMBER,
        "channel": "email",
        "email": "a***@example.com",
        "detail": response.json()["detail"],
    }
    with db.read() as conn:
        (notice,) = notices(conn)
    assert notice.kind == "confirm"
    assert notice.channel == "email"
    assert notice.target == "alice@example.com"
    assert notice.payload["confirm"].startswith(f"{PUBLIC_URL}/subscriptions/confirm?token=")

    # The same again answers the same (no one learns whether an address already follows an
    # item) and sends the same subscription's link again — the first may have been lost.
    again = client.post("/api/v1/subscriptions", json=email)
    assert (again.status_code, again.json()) == (202, response.json())
    with db.read() as conn:
        both = notices(conn)
    assert [n.kind for n in both] == ["confirm", "confirm"]
    assert {n.subscription_id for n in both} == {notice.subscription_id}


def test_a_key_holder_sees_an_email_subscription_with_the_address_masked(
    db: Database, client: httpx.Client
) -> None:
    email = {"number": NUMBER, "channel": "email", "email": "bob@example.com"}
    response = client.post(
        "/api/v1/subscriptions", json=email, headers=bearer(db, KeyScope.WEBHOOKS)
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["state"], body["email"]) == ("pending", "b***@example.com")
    assert "secret" not in body
    assert "signature" not in body


EMAIL = {"number": NUMBER, "channel": "email", "email": "a@example.com"}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({**EMAIL, "number": "EE123456784CN"}, "invalid_number"),
        ({**EMAIL, "email": "not an address"}, "bad_email"),
        ({**EMAIL, "timezone": "Mars/Base"}, "bad_timezone"),
        (webhook(url="ftp://example.com/x"), "bad_url"),
        ({**EMAIL, "channel": "webhook"}, "bad_request"),  # a webhook without its url
        ({**EMAIL, "url": HOOK}, "bad_request"),  # an e-mail with a url besides
        ({**EMAIL, "channel": "sms"}, "bad_request"),
        ({**EMAIL, "extra": 1}, "bad_request"),
    ],
)
def test_what_cannot_be_subscribed_is_422(
    db: Database, client: httpx.Client, body: dict[str, Any], code: str
) -> None:
    response = client.post(
        "/api/v1/subscriptions", json=body, headers=bearer(db, KeyScope.WEBHOOKS)
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code


def test_a_private_address_is_refused_unless_allowed(db: Database, serve_app: ServeApp) -> None:
    with serve_app(**NOTIFY | {"notify_allow_private_urls": False}) as http:
        response = http.post(
            "/api/v1/subscriptions", json=webhook(), headers=bearer(db, KeyScope.WEBHOOKS)
        )
    assert response.status_code == 422
    assert response.json()["code"] == "bad_url"


def test_without_a_secret_key_subscriptions_are_unavailable(serve_app: ServeApp) -> None:
    email = {"number": NUMBER, "channel": "email", "email": "a@example.com"}
    with serve_app() as http:
        response = http.post("/api/v1/subscriptions", json=email)
    assert response.status_code == 503
    assert response.json()["code"] == "subscriptions_unavailable"


def test_show_and_end_a_subscription(db: Database, client: httpx.Client) -> None:
    auth = bearer(db, KeyScope.WEBHOOKS)
    made = client.post("/api/v1/subscriptions", json=webhook(), headers=auth).json()
    path = f"/api/v1/subscriptions/{made['id']}"

    shown = client.get(path, headers=auth)
    assert shown.status_code == 200
    assert shown.json()["state"] == "active"
    assert shown.json()["url"] == HOOK
    assert "secret" not in shown.json()

    ended = client.delete(path, headers=auth)
    assert (ended.status_code, ended.content) == (204, b"")
    after = client.get(path, headers=auth).json()
    assert (after["state"], after["ended_reason"]) == ("ended", "ended_by_api")
    assert client.delete(path, headers=auth).status_code == 204  # again: no change


def test_a_key_sees_only_its_own_subscriptions(db: Database, client: httpx.Client) -> None:
    made = client.post(
        "/api/v1/subscriptions", json=webhook(), headers=bearer(db, KeyScope.WEBHOOKS)
    ).json()
    path = f"/api/v1/subscriptions/{made['id']}"
    other = bearer(db, KeyScope.WEBHOOKS, "another shop")
    assert client.get(path, headers=other).status_code == 404
    assert client.delete(path, headers=other).status_code == 404
    assert client.get(path, headers=bearer(db, KeyScope.ADMIN, "ops")).status_code == 200


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_show_and_end_need_a_key_and_a_known_id(
    db: Database, client: httpx.Client, method: str
) -> None:
    assert client.request(method, "/api/v1/subscriptions/nope").status_code == 401
    ingest = bearer(db, KeyScope.INGEST, "scanner")
    assert client.request(method, "/api/v1/subscriptions/nope", headers=ingest).status_code == 403
    unknown = client.request(
        method, "/api/v1/subscriptions/nope", headers=bearer(db, KeyScope.WEBHOOKS)
    )
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "not_found"
