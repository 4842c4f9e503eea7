"""`/api/v1/push`: the app's push subscriptions over real HTTP, on SQLite and PostgreSQL; the
VAPID settings and `emstrack webpush keys`."""

from __future__ import annotations

import base64
import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from py_vapid import jwt
from pydantic import SecretStr, ValidationError
from test_worker import number
from typer.testing import CliRunner
from webclient import serve

from emstrack.cli import app as cli
from emstrack.config import Settings
from emstrack.notify import webpush
from emstrack.notify.subscriptions import MAX_PER_TARGET
from emstrack.store.database import Database
from emstrack.store.push import endpoint_id, endpoint_row
from emstrack.store.subscriptions import subscriptions_of
from emstrack.web.app import create_app

NUMBER = "EE123456785CN"
ENDPOINT = "https://push.example.net/send/abc123"
SUBJECT = "mailto:ops@example.org"
KEYS = webpush.new_keys()


OTHER = number(1)


def browser_keys() -> dict[str, str]:
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    )
    return {"p256dh": webpush.b64url(point), "auth": webpush.b64url(os.urandom(16))}


def body(
    numbers: list[str], endpoint: str = ENDPOINT, keys: dict[str, str] | None = None, **more: Any
) -> dict[str, Any]:
    sub = {"endpoint": endpoint, "expirationTime": None, "keys": keys or browser_keys()}
    return {"subscription": sub, "numbers": numbers, **more}


def push_settings(settings: Settings, **more: Any) -> Settings:
    public, private = KEYS
    return settings.model_copy(
        update={
            "webpush_public_key": public,
            "webpush_private_key": private,
            "webpush_subject": SUBJECT,
            **more,
        }
    )


def serving(db: Database, s: Settings) -> AbstractContextManager[httpx.Client]:
    return serve(create_app(s, db))


@pytest.fixture
def client(db: Database, settings: Settings) -> Iterator[httpx.Client]:
    with serving(db, push_settings(settings)) as http:
        yield http


def delete(http: httpx.Client, doc: dict[str, Any]) -> httpx.Response:
    return http.request("DELETE", "/api/v1/push/subscriptions", json=doc)


# --- the key ---------------------------------------------------------------------------------


def test_the_key_is_the_configured_public_key(client: httpx.Client) -> None:
    answer = client.get("/api/v1/push/key")
    assert answer.status_code == 200
    assert answer.json() == {"public_key": KEYS[0]}
    raw = base64.urlsafe_b64decode(KEYS[0] + "=")
    assert (len(raw), raw[0]) == (65, 4)  # what pushManager.subscribe takes


def test_without_the_settings_there_is_no_push(db: Database, settings: Settings) -> None:
    with serving(db, settings) as http:
        key = http.get("/api/v1/push/key")
        made = http.post("/api/v1/push/subscriptions", json=body([NUMBER]))
    for answer in (key, made):
        assert answer.status_code == 404
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["code"] == "webpush_unavailable"
    with db.read() as unit:
        assert endpoint_row(unit, endpoint_id(ENDPOINT)) is None


# --- subscribing -----------------------------------------------------------------------------


def test_subscribing_stores_the_browser_and_one_active_subscription_per_number(
    client: httpx.Client, db: Database
) -> None:
    keys = browser_keys()
    answer = client.post(
        "/api/v1/push/subscriptions",
        json=body(["ee 123 456 785 cn", OTHER], keys=keys, lang="zh-Hans", timezone="Asia/Tokyo"),
    )
    assert answer.status_code == 201, answer.text
    doc = answer.json()
    assert doc["endpoint_id"] == endpoint_id(ENDPOINT)
    assert [(s["number"], s["state"]) for s in doc["subscriptions"]] == [
        (NUMBER, "active"),
        (OTHER, "active"),
    ]
    with db.read() as unit:
        stored = endpoint_row(unit, doc["endpoint_id"])
        rows = subscriptions_of(unit, "webpush", doc["endpoint_id"])
    assert stored is not None
    assert (stored.endpoint, stored.p256dh, stored.auth, stored.ended_at) == (
        ENDPOINT,
        keys["p256dh"],
        keys["auth"],
        None,
    )
    assert {(r.number, r.lang, r.timezone, r.state) for r in rows} == {
        (NUMBER, "zh", "Asia/Tokyo", "active"),
        (OTHER, "zh", "Asia/Tokyo", "active"),
    }
    assert {r.id for r in rows} == {s["id"] for s in doc["subscriptions"]}


def test_subscribing_again_changes_nothing_and_adds_only_what_is_new(
    client: httpx.Client, db: Database
) -> None:
    keys = browser_keys()
    first = client.post("/api/v1/push/subscriptions", json=body([NUMBER], keys=keys))
    again = client.post("/api/v1/push/subscriptions", json=body([NUMBER], keys=keys))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()

    more = client.post("/api/v1/push/subscriptions", json=body([OTHER], keys=keys))
    assert more.status_code == 201
    assert [s["number"] for s in more.json()["subscriptions"]] == [OTHER]
    with db.read() as unit:
        live = subscriptions_of(unit, "webpush", endpoint_id(ENDPOINT))
    assert sorted(r.number for r in live) == sorted([NUMBER, OTHER])  # the first one stays


def test_the_same_endpoint_with_new_keys_takes_them(client: httpx.Client, db: Database) -> None:
    client.post("/api/v1/push/subscriptions", json=body([NUMBER]))
    fresh = browser_keys()
    answer = client.post("/api/v1/push/subscriptions", json=body([NUMBER], keys=fresh))
    assert answer.status_code == 200
    with db.read() as unit:
        stored = endpoint_row(unit, endpoint_id(ENDPOINT))
        live = subscriptions_of(unit, "webpush", endpoint_id(ENDPOINT))
    assert stored is not None
    assert (stored.p256dh, stored.auth) == (fresh["p256dh"], fresh["auth"])
    assert len(live) == 1


_NOT_ON_CURVE = webpush.b64url(b"\x04" + b"\x01" * 64)
_COMPRESSED = webpush.b64url(b"\x02" + b"\x01" * 32)


@pytest.mark.parametrize(
    ("doc", "code", "words"),
    [
        (body([NUMBER], endpoint="http://push.example.net/x"), "bad_endpoint", "https://"),
        (body([NUMBER], endpoint="https://127.0.0.1/push/x"), "bad_endpoint", "not a public"),
        (body([NUMBER], endpoint="https://10.1.2.3/push/x"), "bad_endpoint", "not a public"),
        (body([NUMBER], endpoint="https://[::1]:8443/push/x"), "bad_endpoint", "not a public"),
        (body([NUMBER], endpoint="https://push.example.net/a b"), "bad_endpoint", "space"),
        (body([NUMBER], endpoint="https://x/" + "a" * 1000), "bad_endpoint", "1000"),
        (
            body([NUMBER], keys={"p256dh": _NOT_ON_CURVE, "auth": "AAAAAAAAAAAAAAAAAAAAAA"}),
            "bad_keys",
            "p256dh",
        ),
        (
            body([NUMBER], keys={"p256dh": _COMPRESSED, "auth": "AAAAAAAAAAAAAAAAAAAAAA"}),
            "bad_keys",
            "65 bytes",
        ),
        (
            body([NUMBER], keys={**browser_keys(), "auth": webpush.b64url(b"x" * 15)}),
            "bad_keys",
            "16-byte",
        ),
        (
            body([NUMBER], keys={**browser_keys(), "auth": "not base64 at all!"}),
            "bad_keys",
            "auth",
        ),
        (body([NUMBER, "EE123456789CN"]), "invalid_number", "EE123456789CN: the check digit"),
        (body([NUMBER], timezone="Mars/Olympus"), "bad_timezone", "Mars/Olympus"),
        (body([]), "bad_request", ""),
        ({"subscription": {"endpoint": ENDPOINT}, "numbers": [NUMBER]}, "bad_request", ""),
        ({"numbers": [NUMBER]}, "bad_request", ""),
        ({**body([NUMBER]), "surprise": 1}, "bad_request", ""),
    ],
)
def test_what_is_wrong_is_said_and_nothing_is_stored(
    client: httpx.Client, db: Database, doc: dict[str, Any], code: str, words: str
) -> None:
    answer = client.post("/api/v1/push/subscriptions", json=doc)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert problem["code"] == code
    assert words.lower() in (problem["title"] + " " + problem.get("detail", "")).lower()
    endpoint = doc.get("subscription", {}).get("endpoint", ENDPOINT)
    with db.read() as unit:
        assert endpoint_row(unit, endpoint_id(endpoint)) is None
        assert subscriptions_of(unit, "webpush", endpoint_id(endpoint)) == []


def test_loopback_endpoints_are_taken_only_where_private_urls_are_allowed(
    db: Database, settings: Settings
) -> None:
    endpoint = "https://127.0.0.1:8443/push/x"
    with serving(db, push_settings(settings, notify_allow_private_urls=True)) as http:
        answer = http.post("/api/v1/push/subscriptions", json=body([NUMBER], endpoint=endpoint))
    assert answer.status_code == 201


def test_an_endpoint_follows_at_most_the_cap_of_items(client: httpx.Client) -> None:
    keys = browser_keys()
    many = [number(n) for n in range(1, MAX_PER_TARGET + 1)]
    full = client.post("/api/v1/push/subscriptions", json=body(many, keys=keys))
    assert full.status_code == 201
    assert len(full.json()["subscriptions"]) == MAX_PER_TARGET

    one_more = client.post("/api/v1/push/subscriptions", json=body([NUMBER], keys=keys))
    assert one_more.status_code == 422
    assert one_more.json()["code"] == "too_many_subscriptions"
    too_long = client.post("/api/v1/push/subscriptions", json=body([*many, NUMBER], keys=keys))
    assert too_long.status_code == 422
    assert too_long.json()["code"] == "bad_request"

    # Ending one makes room again.
    assert delete(client, {"endpoint": ENDPOINT, "numbers": [many[0]]}).json() == {"ended": 1}
    assert client.post("/api/v1/push/subscriptions", json=body([NUMBER], keys=keys)).is_success


def test_each_number_counts_against_the_rate_limit(db: Database, settings: Settings) -> None:
    with serving(db, push_settings(settings, rate_limit="5/minute")) as http:
        ok = http.post("/api/v1/push/subscriptions", json=body([number(1), number(2)]))
        refused = http.post(
            "/api/v1/push/subscriptions", json=body([number(3), number(4), number(5), number(6)])
        )
    assert ok.status_code == 201
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) > 0


# --- unsubscribing ---------------------------------------------------------------------------


def test_unsubscribing_ends_the_numbers_named_or_all_and_again_ends_none(
    client: httpx.Client, db: Database
) -> None:
    third = number(7)
    client.post("/api/v1/push/subscriptions", json=body([NUMBER, OTHER, third]))

    one = delete(client, {"endpoint": ENDPOINT, "numbers": ["ee123456785cn"]})
    assert (one.status_code, one.json()) == (200, {"ended": 1})
    assert delete(client, {"endpoint": ENDPOINT, "numbers": [NUMBER]}).json() == {"ended": 0}
    with db.read() as unit:
        live = subscriptions_of(unit, "webpush", endpoint_id(ENDPOINT))
    assert sorted(r.number for r in live) == sorted([OTHER, third])

    rest = delete(client, {"endpoint": ENDPOINT})
    assert rest.json() == {"ended": 2}
    assert delete(client, {"endpoint": ENDPOINT}).json() == {"ended": 0}
    with db.read() as unit:
        every = subscriptions_of(unit, "webpush", endpoint_id(ENDPOINT), live_only=False)
    assert {(r.state, r.ended_reason) for r in every} == {("ended", "unsubscribed")}

    # Another endpoint's are not touched, and an unknown endpoint ends nothing.
    assert delete(client, {"endpoint": "https://push.example.net/other"}).json() == {"ended": 0}


def test_unsubscribing_says_what_is_wrong(client: httpx.Client) -> None:
    bad = delete(client, {"endpoint": ENDPOINT, "numbers": ["EE123456789CN"]})
    assert bad.status_code == 422
    assert bad.json()["code"] == "invalid_number"
    assert delete(client, {"numbers": [NUMBER]}).json()["code"] == "bad_request"


# --- settings and the keys command -----------------------------------------------------------


def test_the_keys_command_prints_a_pair_the_settings_take_and_that_signs(
    runner: CliRunner,
) -> None:
    made = runner.invoke(cli, ["webpush", "keys"])
    assert made.exit_code == 0, made.output
    lines = dict(line.split("=", 1) for line in made.stdout.splitlines())
    assert set(lines) == {"EMSTRACK_WEBPUSH_PUBLIC_KEY", "EMSTRACK_WEBPUSH_PRIVATE_KEY"}
    assert "secret" in made.stderr
    s = Settings(
        webpush_public_key=lines["EMSTRACK_WEBPUSH_PUBLIC_KEY"],
        webpush_private_key=SecretStr(lines["EMSTRACK_WEBPUSH_PRIVATE_KEY"]),
        webpush_subject=SUBJECT,
    )
    assert s.webpush_enabled
    header = webpush.authorization("https://push.example.net:8443/send/x", s)
    token = dict(p.split("=", 1) for p in header.removeprefix("vapid ").split(","))
    assert token["k"] == lines["EMSTRACK_WEBPUSH_PUBLIC_KEY"]
    claims = jwt.decode(token["t"], token["k"])
    assert claims["aud"] == "https://push.example.net:8443"
    assert claims["sub"] == SUBJECT
    # A second run makes another pair.
    assert runner.invoke(cli, ["webpush", "keys"]).stdout != made.stdout


@pytest.mark.parametrize(
    ("values", "names"),
    [
        ({"webpush_public_key": "abc"}, "EMSTRACK_WEBPUSH_PUBLIC_KEY"),
        ({"webpush_private_key": "not-a-key"}, "EMSTRACK_WEBPUSH_PRIVATE_KEY"),
        ({"webpush_private_key": webpush.b64url(b"\xff" * 32)}, "EMSTRACK_WEBPUSH_PRIVATE_KEY"),
        ({"webpush_subject": "http://example.org"}, "EMSTRACK_WEBPUSH_SUBJECT"),
        ({"webpush_subject": "ops@example.org"}, "EMSTRACK_WEBPUSH_SUBJECT"),
        ({"webpush_subject": "mailto:ops@localhost"}, "not localhost"),
        ({"webpush_subject": "https://localhost/contact"}, "not localhost"),
        (
            {"webpush_public_key": KEYS[0], "webpush_private_key": KEYS[1]},
            "EMSTRACK_WEBPUSH_SUBJECT",
        ),
        (
            {
                "webpush_public_key": webpush.new_keys()[0],
                "webpush_private_key": KEYS[1],
                "webpush_subject": SUBJECT,
            },
            "is not the public key of",
        ),
    ],
)
def test_bad_push_settings_stop_the_start_naming_the_setting(
    values: dict[str, str], names: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(**values)  # type: ignore[arg-type]
    assert names in str(refused.value)
    # A refused private key is never echoed.
    assert KEYS[1] not in str(refused.value)
    assert "not-a-key" not in str(refused.value)


def test_an_https_subject_and_no_push_at_all_are_fine() -> None:
    public, private = KEYS
    s = Settings(
        webpush_public_key=public,
        webpush_private_key=SecretStr(private),
        webpush_subject="https://track.example.org/contact",
    )
    assert s.webpush_enabled
    assert not Settings().webpush_enabled


def test_requests_for_one_browser_at_once_take_turns_and_make_no_twin(
    db: Database, settings: Settings
) -> None:
    """The app adding two items at once: both requests succeed, one after the other."""
    s = push_settings(settings)
    keys = browser_keys()
    browser = webpush.check_browser(ENDPOINT, keys["p256dh"], keys["auth"], s)
    webpush.subscribe(db, s, browser, [number(9)])  # the endpoint is known already
    start = threading.Barrier(4)
    done: list[webpush.Subscribed] = []

    def subscribe(numbers: list[str]) -> None:
        start.wait()
        done.append(webpush.subscribe(db, s, browser, numbers))

    threads = [
        threading.Thread(target=subscribe, args=(numbers,))
        for numbers in ([NUMBER], [NUMBER], [OTHER], [NUMBER, OTHER])
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(done) == 4
    with db.read() as unit:
        live = subscriptions_of(unit, "webpush", endpoint_id(ENDPOINT))
    assert sorted(r.number for r in live) == sorted([NUMBER, OTHER, number(9)])
    assert sum(new for d in done for _, new in d.rows) == 2
