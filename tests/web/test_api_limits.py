"""Rate limits (in memory and in Redis), security headers and the OpenAPI document."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from factories import REDIS_URL
from webclient import ServeApp, serve

from emstrack import keys
from emstrack.config import Settings
from emstrack.keys import KeyScope
from emstrack.store.database import Database
from emstrack.web.app import create_app
from emstrack.web.ratelimit import Limiter

NUMBER = "EE123456785CN"


@pytest.fixture
def tight(serve_app: ServeApp) -> Iterator[httpx.Client]:
    """A server that allows 3 anonymous lookups and 5 keyed requests a minute."""
    with serve_app(rate_limit="3/minute", rate_limit_key="5/minute") as http:
        yield http


def test_the_fourth_lookup_is_429_with_retry_after(tight: httpx.Client) -> None:
    for remaining in (2, 1, 0):
        response = tight.get(f"/api/v1/tracking/{NUMBER}")
        assert response.status_code == 404
        assert response.headers["ratelimit-limit"] == "3"
        assert response.headers["ratelimit-remaining"] == str(remaining)
        assert 0 < int(response.headers["ratelimit-reset"]) <= 60
    response = tight.get(f"/api/v1/tracking/{NUMBER}")
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "rate_limited"
    assert 0 < int(response.headers["retry-after"]) <= 60
    assert response.headers["ratelimit-remaining"] == "0"


def test_a_batch_counts_one_per_number(tight: httpx.Client) -> None:
    ok = tight.post("/api/v1/tracking/batch", json={"numbers": [NUMBER] * 3})
    assert ok.status_code == 200
    assert tight.get(f"/api/v1/numbers/{NUMBER}").status_code == 429


def test_a_key_has_its_own_limit(tight: httpx.Client, db: Database) -> None:
    for _ in range(3):
        tight.get(f"/api/v1/tracking/{NUMBER}")
    assert tight.get(f"/api/v1/tracking/{NUMBER}").status_code == 429
    auth = {"Authorization": f"Bearer {keys.create(db, 'app', KeyScope.READ_PRIVATE).key}"}
    statuses = [tight.get(f"/api/v1/numbers/{NUMBER}", headers=auth).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]


def test_the_limiter_contract_for_pages() -> None:
    limiter = Limiter()
    assert [limiter.hit(f"postcode:{NUMBER}", "2/hour")[0] for _ in range(3)] == [
        True,
        True,
        False,
    ]
    allowed, reset = limiter.hit(f"postcode:{NUMBER}", "2/hour")
    assert not allowed
    assert 0 < reset <= 3600
    assert limiter.hit("postcode:RR473124829GB", "2/hour")[0]


def test_redis_counters_are_shared_between_processes(redis_namespace: str) -> None:
    one = Limiter(REDIS_URL, namespace=redis_namespace)
    two = Limiter(REDIS_URL, namespace=redis_namespace)
    assert one.hit("addr:192.0.2.1", "3/minute")[0]
    assert two.hit("addr:192.0.2.1", "3/minute")[0]
    assert one.hit("addr:192.0.2.1", "3/minute")[0]
    allowed, reset = two.hit("addr:192.0.2.1", "3/minute")
    assert not allowed
    assert 0 < reset <= 60
    other = Limiter(REDIS_URL, namespace=redis_namespace + "-other")
    assert other.hit("addr:192.0.2.1", "3/minute")[0]


def test_a_server_on_redis_limits(db: Database, settings: Settings, redis_namespace: str) -> None:
    small = settings.model_copy(update={"rate_limit": "2/minute", "redis_url": REDIS_URL})
    app = create_app(small, db)
    app.state.limiter = Limiter(REDIS_URL, namespace=redis_namespace)
    with serve(app) as http:
        statuses = [http.get(f"/api/v1/numbers/{NUMBER}").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_an_unreachable_redis_lets_requests_through() -> None:
    limiter = Limiter("redis://127.0.0.1:1/0", namespace="nowhere")
    assert limiter.hit("addr:192.0.2.1", "1/minute")[0]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/api/v1/tracking/{NUMBER}"),
        ("GET", "/api/v1/numbers/EE1"),
        ("POST", "/api/v1/events"),
        ("GET", "/api/v1/nothing"),
        ("GET", "/openapi.json"),
        ("GET", "/healthz"),
    ],
)
def test_security_headers_on_every_response(client: httpx.Client, method: str, path: str) -> None:
    response = client.request(method, path)
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "base-uri 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"


def test_openapi_documents_every_endpoint_and_error(serve_app: ServeApp) -> None:
    with serve_app() as http:
        spec = http.get("/openapi.json").json()
        assert http.get("/docs").status_code == 404  # Swagger UI would load from a CDN
    paths = spec["paths"]
    assert {
        "/api/v1/tracking/{number}",
        "/api/v1/tracking/batch",
        "/api/v1/numbers/{number}",
        "/api/v1/events",
    } <= set(paths)
    events = paths["/api/v1/events"]["post"]
    assert {"200", "401", "403", "413", "422", "429"} <= set(events["responses"])
    assert "application/problem+json" in events["responses"]["429"]["content"]
    assert "requestBody" in events
    assert {"401", "413", "422", "429"} <= set(paths["/api/v1/tracking/batch"]["post"]["responses"])
    assert "apiKey" in spec["components"]["securitySchemes"]
