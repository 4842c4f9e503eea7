"""The lane (`emstrack.web.api.lane`): a public caller's plain JSON lookup answered without the
router gives the same answer, byte for byte and header for header, as the declared route; the
requests it does not take go to the route; an exception is answered as the app's handlers
answer it.

The route is reached on purpose with a query parameter the route ignores (`via=route`), which
the lane declines; that the lane (and not the route) answered the others is seen on the ASGI
scope, where the router notes the route it matched.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from factories import DELIVERED_TO_DE, Loader, history
from webclient import ServeApp, asgi_call, asgi_scope

from emstrack.config import Settings
from emstrack.domain.tracking_number import Scope as NumberScope
from emstrack.store.database import Database
from emstrack.web.api.lane import _plain
from emstrack.web.app import create_app

NUMBER = "EE123456785CN"
#: What differs between any two answers: the clock and the limiter's count.
_MOVING = {"date", "ratelimit-remaining", "ratelimit"}


@pytest.fixture
def client(serve_app: ServeApp) -> Iterator[httpx.Client]:
    with serve_app(rate_limit="1000/minute") as http:
        yield http


def _same(lane: httpx.Response, route: httpx.Response) -> None:
    assert lane.status_code == route.status_code
    assert lane.content == route.content
    steady = {k: v for k, v in lane.headers.items() if k not in _MOVING}
    assert steady == {k: v for k, v in route.headers.items() if k not in _MOVING}


ASKED = [
    f"/api/v1/tracking/{NUMBER}",
    f"/api/v1/tracking/{NUMBER}?lang=zh",
    f"/api/v1/tracking/{NUMBER}?lang=zh-CN&scope=international",
    f"/api/v1/tracking/{NUMBER}?scope=any&lang=en-GB",
    "/api/v1/tracking/ee%20123%20456%20785%20cn?lang=zh",  # a spelling with its notes
    "/api/v1/tracking/EE123456785CM",  # a wrong check digit: invalid, "did you mean"
    "/api/v1/tracking/RR473124829GB",  # valid, no scan yet
    "/api/v1/tracking/1234567890123?scope=domestic",  # unknown domestic
    f"/api/v1/tracking/{NUMBER}?scope=domestic",  # not a domestic number
    "/api/v1/tracking/batch",  # a GET of the batch's path is a lookup of "batch"
]


@pytest.mark.parametrize("url", ASKED)
def test_the_lane_answers_as_the_route(load: Loader, client: httpx.Client, url: str) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE[:5]))
    joiner = "&" if "?" in url else "?"
    _same(client.get(url), client.get(f"{url}{joiner}via=route"))


def test_a_revalidation_through_the_lane_is_a_304(load: Loader, client: httpx.Client) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE[:5]))
    url = f"/api/v1/tracking/{NUMBER}?lang=zh"
    tag = client.get(url).headers["etag"]
    lane = client.get(url, headers={"If-None-Match": tag})
    route = client.get(f"{url}&via=route", headers={"If-None-Match": tag})
    assert lane.status_code == 304
    _same(lane, route)


def test_the_rate_limit_holds_on_the_lane(load: Loader, serve_app: ServeApp) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE[:5]))
    with serve_app(rate_limit="2/minute") as http:
        assert http.get(f"/api/v1/tracking/{NUMBER}").status_code == 200
        assert http.get(f"/api/v1/tracking/{NUMBER}?via=route").status_code == 200
        lane = http.get(f"/api/v1/tracking/{NUMBER}")
        route = http.get(f"/api/v1/tracking/{NUMBER}?via=route")
    assert lane.status_code == 429
    assert lane.headers["content-type"] == "application/problem+json"
    assert lane.json()["code"] == "rate_limited"
    assert int(lane.headers["retry-after"]) > 0
    _same(lane, route)


def test_the_lane_is_taken_and_the_route_is_not(
    load: Loader, db: Database, settings: Settings
) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE[:5]))
    app = create_app(settings.model_copy(update={"rate_limit": "1000/minute"}), db)

    async def run() -> tuple[dict[str, Any], dict[str, Any]]:
        async with app.router.lifespan_context(app):
            lane, route = (
                asgi_scope(f"/api/v1/tracking/{NUMBER}", "lang=zh"),
                asgi_scope(f"/api/v1/tracking/{NUMBER}", "lang=zh&via=route"),
            )
            assert await asgi_call(app, lane) == 200
            assert await asgi_call(app, route) == 200
        return lane, route

    lane, route = asyncio.run(run())
    assert "route" not in lane  # the router never saw it
    assert getattr(route["route"], "path", None) == "/api/v1/tracking/{number:path}"


@pytest.mark.parametrize(
    ("path", "query", "extra"),
    [
        ("/api/v1/tracking/", "", {}),  # no number: the route says what is wrong
        (f"/api/v1/tracking/{NUMBER}/", "", {}),  # a slash in the number
        (f"/api/v1/tracking/{NUMBER}", "lang=fr", {}),  # the route's 422
        (f"/api/v1/tracking/{NUMBER}", "lang=", {}),
        (f"/api/v1/tracking/{NUMBER}", "lang=en" + "x" * 15, {}),  # 17 characters
        (f"/api/v1/tracking/{NUMBER}", "scope=everywhere", {}),
        (f"/api/v1/tracking/{NUMBER}", "lang=en&lang=zh", {}),
        (f"/api/v1/tracking/{NUMBER}", "callback=x", {}),
        (f"/api/v1/tracking/{NUMBER}", "", {"method": "HEAD"}),
        (f"/api/v1/tracking/{NUMBER}", "", {"method": "POST"}),
        (f"/api/v1/tracking/{NUMBER}", "", {"root_path": "/emstrack"}),
        (f"/track/{NUMBER}", "", {}),
        (f"/api/v1/tracking/{NUMBER}", "", {"type": "websocket"}),
        (
            f"/api/v1/tracking/{NUMBER}",
            "",
            {"headers": [(b"host", b"test"), (b"authorization", b"Bearer k")]},
        ),
    ],
)
def test_what_the_lane_leaves_to_the_route(path: str, query: str, extra: dict[str, Any]) -> None:
    assert _plain(asgi_scope(path, query, **extra)) is None


def test_what_the_lane_takes() -> None:
    assert _plain(asgi_scope(f"/api/v1/tracking/{NUMBER}")) == (NUMBER, NumberScope.ANY, "en")
    assert _plain(asgi_scope("/api/v1/tracking/ee 123", "scope=domestic&lang=zh-Hant")) == (
        "ee 123",
        NumberScope.DOMESTIC,
        "zh-Hant",
    )
