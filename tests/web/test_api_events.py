"""`POST /api/v1/events`: operators push events with a key; each one says what became of it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from factories import DELIVERED_TO_DE, history
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import select
from webclient import ServeApp

from emstrack import keys
from emstrack.keys import KeyScope
from emstrack.store.database import Database
from emstrack.store.schema import events

NUMBER = "EE123456785CN"
GOOD = history(NUMBER, *DELIVERED_TO_DE[:3])


@pytest.fixture
def client(serve_app: ServeApp) -> Iterator[httpx.Client]:
    with serve_app(ingest_max_events=20, max_body_bytes=64 * 1024) as http:
        yield http


def _auth(db: Database, scope: KeyScope = KeyScope.INGEST) -> dict[str, str]:
    return {"Authorization": f"Bearer {keys.create(db, 'feed-a', scope).key}"}


def _push(client: httpx.Client, auth: dict[str, str], body: Any) -> httpx.Response:
    return client.post("/api/v1/events", json=body, headers=auth)


def test_mixed_events_get_one_outcome_each(client: httpx.Client, db: Database) -> None:
    auth = _auth(db)
    _push(client, auth, GOOD[0])
    body = {
        "events": [
            GOOD[0],  # already there
            GOOD[1],
            {"tracking_number": "EE123456789CN", "event_code": "EMA"},
            "not an object",
            GOOD[2] | {"signatory": "Z. Müller", "extra_field": "kept"},
        ]
    }
    response = _push(client, auth, body)
    assert response.status_code == 200
    doc = response.json()
    outcomes = [(r["index"], r["outcome"]) for r in doc["results"]]
    assert outcomes == [
        (0, "duplicate"),
        (1, "stored"),
        (2, "rejected"),
        (3, "rejected"),
        (4, "stored"),
    ]
    reasons = doc["results"][2]["reasons"]
    assert any(r.startswith("tracking_number:") for r in reasons)
    assert "event_time: required and missing" in reasons
    assert doc["results"][3]["reasons"] == ["expected an event object"]
    assert (doc["stored"], doc["duplicate"], doc["rejected"]) == (2, 1, 2)
    found = client.get(f"/api/v1/tracking/{NUMBER}").json()
    assert found["item"]["event_count"] == 3


def test_pushing_again_stores_nothing_twice(client: httpx.Client, db: Database) -> None:
    auth = _auth(db, KeyScope.ADMIN)
    first = _push(client, auth, {"events": GOOD}).json()
    again = _push(client, auth, {"events": GOOD}).json()
    assert first["stored"] == len(GOOD)
    assert (again["stored"], again["duplicate"]) == (0, len(GOOD))


def test_no_key_is_401(client: httpx.Client) -> None:
    response = client.post("/api/v1/events", json=GOOD[0])
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "invalid_key"
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_read_key_is_403(client: httpx.Client, db: Database) -> None:
    response = _push(client, _auth(db, KeyScope.READ_PRIVATE), GOOD[0])
    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"


def test_a_revoked_key_is_401(client: httpx.Client, db: Database) -> None:
    auth = _auth(db)
    assert _push(client, auth, GOOD[0]).status_code == 200
    keys.revoke(db, str(keys.list_keys(db)[0].id))
    response = _push(client, auth, GOOD[1])
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_key"


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        (b"{not json", 422, "bad_request"),
        (b"[1, 2]", 422, "bad_request"),
        (b'{"events": []}', 422, "bad_request"),
        (b'{"events": {"a": 1}}', 422, "bad_request"),
        (b'{"events": [' + b",".join([b"{}"] * 21) + b"]}", 422, "too_many_events"),
        (b'{"x": "' + b"a" * 70_000 + b'"}', 413, "body_too_large"),
    ],
)
def test_bad_bodies_are_problems(
    client: httpx.Client, db: Database, content: bytes, status: int, code: str
) -> None:
    response = client.post("/api/v1/events", content=content, headers=_auth(db))
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code


def test_a_streamed_body_over_the_limit_is_413(client: httpx.Client, db: Database) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"events": ['
        for _ in range(100):
            yield b'{"tracking_number": "' + b"1" * 1000 + b'"},'
        yield b"{}]}"

    response = client.post("/api/v1/events", content=chunks(), headers=_auth(db))
    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=10,
)
_field = st.sampled_from(["tracking_number", "event_code", "event_time", "utc_offset", "country"])
_event = st.dictionaries(_field | st.text(max_size=8), _json | st.text(max_size=40), max_size=6)


@given(
    body=st.one_of(
        _json,
        _event,
        st.fixed_dictionaries({"events": st.lists(_event | _json, max_size=5)}),
        st.binary(max_size=200),
    )
)
@hsettings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
def test_junk_never_causes_a_server_error(client: httpx.Client, db: Database, body: object) -> None:
    auth = _auth(db)
    if isinstance(body, bytes):
        response = client.post("/api/v1/events", content=body, headers=auth)
    else:
        response = _push(client, auth, body)
    assert response.status_code < 500, response.text
    assert response.status_code in (200, 422)


def test_the_server_names_the_source_and_a_claimed_one_stays_in_the_raw_payload(
    client: httpx.Client, db: Database
) -> None:
    auth = _auth(db)  # the key is named feed-a
    keys.create(db, "feed-b", KeyScope.INGEST)
    body = {
        "events": [
            GOOD[0] | {"source": "api:feed-b"},  # another key's feed
            GOOD[1] | {"source": "hkpost-2026-11-24.csv"},  # a file import's name
            GOOD[2],
        ]
    }
    assert _push(client, auth, body).json()["stored"] == 3

    with db.read() as conn:
        rows = conn.execute(
            select(events.c.source, events.c.raw).where(events.c.number == NUMBER)
        ).all()
    assert [row.source for row in rows] == ["api:feed-a"] * 3
    claimed = sorted(payload.get("source", "") for row in rows for payload in orjson.loads(row.raw))
    assert claimed == ["", "api:feed-b", "hkpost-2026-11-24.csv"]


def test_the_openapi_description_says_the_source_is_set_by_the_server(
    client: httpx.Client,
) -> None:
    schema = client.get("/openapi.json").json()
    body = schema["paths"]["/api/v1/events"]["post"]["requestBody"]["content"]
    event = body["application/json"]["schema"]["oneOf"][0]
    assert "api:" in event["properties"]["source"]["description"]
    assert "ignored" in event["properties"]["source"]["description"]
