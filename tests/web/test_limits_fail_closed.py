"""When the rate-limit counters (Redis) cannot be reached, the limits that guard a secret fail
closed, and lookups go on.

"Down" is a loopback port with nothing listening; the counting runs on the real Redis at 6379.
Through the real server on loopback.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import httpx
import pytest
from factories import DELIVERED_TO_DE, REDIS_URL, Loader, Record, history
from webclient import ServeApp, serve

from emstrack import keys
from emstrack.config import Settings
from emstrack.domain import s10
from emstrack.keys import KeyScope
from emstrack.store.database import Database
from emstrack.web.app import create_app
from emstrack.web.ratelimit import Limiter

NUMBER = "EE123456785CN"
SIGNATORY = "Erika Mustermann"
POSTCODE = "10115"


def _delivered() -> list[Record]:
    records = history(NUMBER, *DELIVERED_TO_DE)
    for record in records:
        record["destination_postcode"] = POSTCODE
    records[-1]["signatory"] = SIGNATORY
    return records


@pytest.fixture
def redis_down() -> str:
    """The URL of a Redis that is not there: a free loopback port, nothing listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


@pytest.fixture
def down(serve_app: ServeApp, redis_down: str) -> Iterator[httpx.Client]:
    with serve_app(redis_url=redis_down) as http:
        yield http


def _unlock(http: httpx.Client, postcode: str) -> httpx.Response:
    page = http.get(f"/track/{NUMBER}", headers={"Accept": "text/html"})
    assert page.status_code == 200  # the lookup itself is let through
    assert 'name="postcode"' in page.text
    data = {"postcode": postcode}
    return http.post(f"/track/{NUMBER}/details", data=data, headers={"Accept": "text/html"})


def test_the_postcode_unlock_fails_closed(load: Loader, down: httpx.Client) -> None:
    load(*_delivered())
    for postcode in ("99999", "99998", POSTCODE):  # never evaluated, the right one included
        response = _unlock(down, postcode)
        assert response.status_code == 503
        assert response.headers["content-type"].startswith("text/html")
        assert int(response.headers["retry-after"]) > 0
        assert SIGNATORY not in response.text
        assert "does not match" not in response.text


def test_a_keys_limit_fails_closed(db: Database, down: httpx.Client) -> None:
    auth = {"Authorization": f"Bearer {keys.create(db, 'app', KeyScope.READ_PRIVATE).key}"}
    response = down.get(f"/api/v1/tracking/{NUMBER}", headers=auth)
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "rate_limit_unavailable"
    assert int(response.headers["retry-after"]) > 0


def test_lookups_go_on_and_the_outage_is_logged_once(
    down: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="emstrack.web.ratelimit"):
        statuses = [down.get(f"/api/v1/numbers/{NUMBER}").status_code for _ in range(5)]
    assert statuses == [200] * 5
    outage = [r for r in caplog.records if r.name == "emstrack.web.ratelimit"]
    assert len(outage) == 1
    assert "unavailable" in outage[0].getMessage()


def test_candidates_are_not_checked_without_counters(load: Loader, down: httpx.Client) -> None:
    typo = "EE123456784CN"
    for number in s10.lookup_candidates(s10.parse(typo)):
        load(*history(number, *DELIVERED_TO_DE))
    body = down.get(f"/api/v1/tracking/{typo}").json()
    assert body["outcome"] == "invalid"
    assert not [s for s in body["suggestions"] if s["on_record"]]


def test_strict_limits_count_on_redis(
    load: Loader, db: Database, settings: Settings, redis_namespace: str
) -> None:
    load(*_delivered())
    small = settings.model_copy(
        update={
            "redis_url": REDIS_URL,
            "rate_limit_key": "2/minute",
            "rate_limit_postcode": "2/hour",
        }
    )
    app = create_app(small, db)
    app.state.limiter = Limiter(REDIS_URL, namespace=redis_namespace)
    auth = {"Authorization": f"Bearer {keys.create(db, 'app', KeyScope.READ_PRIVATE).key}"}
    with serve(app) as http:
        keyed = [http.get(f"/api/v1/numbers/{NUMBER}", headers=auth).status_code for _ in range(3)]
        unlocks = [
            _unlock(http, postcode).status_code for postcode in ("99999", POSTCODE, POSTCODE)
        ]
    assert keyed == [200, 200, 429]
    assert unlocks == [403, 200, 429]


def test_redis_takes_only_what_is_left(redis_namespace: str) -> None:
    limiter = Limiter(REDIS_URL, namespace=redis_namespace)
    assert limiter.check("addr:192.0.2.1", "10/minute", cost=7).remaining == 3
    assert limiter.take("addr:192.0.2.1", "10/minute", 8) == 3
    assert limiter.take("addr:192.0.2.1", "10/minute", 8) == 0
    assert limiter.check("addr:192.0.2.1", "10/minute").allowed is False
    limiter.refund("addr:192.0.2.1", "10/minute", 2)
    assert limiter.take("addr:192.0.2.1", "10/minute", 8) == 1
