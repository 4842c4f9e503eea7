"""The limits on the postcode proof, through the real server on loopback, on both databases.

A postcode is a weak secret (a delivery office has few), so besides the tries per client address
and number, the wrong tries per number are capped in total, from all addresses together. The
clients at different addresses come through a trusted proxy on loopback (`X-Forwarded-For`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from factories import DELIVERED_TO_DE, REDIS_URL, Loader, Record, history
from webclient import ServeApp, serve

from emstrack.config import Settings
from emstrack.store.database import Database
from emstrack.web.app import create_app
from emstrack.web.ratelimit import Limiter

NUMBER = "EE123456785CN"
SIGNATORY = "Erika Mustermann"
POSTCODE = "10115"

Unlock = Callable[[str, str], httpx.Response]


def _delivered() -> list[Record]:
    records = history(NUMBER, *DELIVERED_TO_DE)
    for record in records:
        record["destination_postcode"] = POSTCODE
    records[-1]["signatory"] = SIGNATORY
    return records


def _unlocker(http: httpx.Client) -> Unlock:
    """Tries a postcode from a client address (as the trusted proxy on loopback reports it)."""

    def unlock(postcode: str, address: str) -> httpx.Response:
        headers = {"Accept": "text/html", "X-Forwarded-For": address}
        page = http.get(f"/track/{NUMBER}", headers=headers).text
        assert f'action="/track/{NUMBER}/details"' in page, page
        data = {"postcode": postcode}
        return http.post(f"/track/{NUMBER}/details", data=data, headers=headers)

    return unlock


#: The clients' addresses come from the proxy on loopback.
PROXIED: dict[str, Any] = {"trusted_proxies": "127.0.0.1"}


@pytest.fixture
def server(load: Loader, serve_app: ServeApp) -> Iterator[Unlock]:
    """A server allowing 2 tries per address and number, and 3 wrong tries per number a day."""
    load(*_delivered())
    limits: dict[str, Any] = {
        "rate_limit_postcode": "2/hour",
        "rate_limit_postcode_failures": "3/day",
    }
    with serve_app(**PROXIED, **limits) as http:
        yield _unlocker(http)


def test_wrong_tries_are_capped_per_number_across_addresses(server: Unlock) -> None:
    for i in range(3):
        wrong = server("99999", f"192.0.2.{i}")
        assert wrong.status_code == 403
        assert SIGNATORY not in wrong.text
    # A fourth address, even with the right postcode: the number is closed for the day.
    refused = server(POSTCODE, "198.51.100.7")
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("text/html")
    assert SIGNATORY not in refused.text
    # The day's window, not an hour's: the wait said is the true one.
    retry_after = int(refused.headers["retry-after"])
    assert 3600 < retry_after <= 86400
    hours, minutes = -(-retry_after // 3600), -(-retry_after // 60)
    wait = f"{hours} hours" if retry_after >= 7200 else f"{minutes} minutes"
    assert f"try again in {wait}." in refused.text


def test_tries_are_limited_per_address(server: Unlock) -> None:
    assert server("99999", "192.0.2.1").status_code == 403
    assert server("99998", "192.0.2.1").status_code == 403
    refused = server(POSTCODE, "192.0.2.1")
    assert refused.status_code == 429
    assert SIGNATORY not in refused.text
    assert 0 < int(refused.headers["retry-after"]) <= 3600
    # Another address still has its tries (and the number one wrong try left).
    assert SIGNATORY in server(POSTCODE, "192.0.2.2").text


def test_right_tries_do_not_use_up_the_numbers_failures(load: Loader, serve_app: ServeApp) -> None:
    load(*_delivered())
    with serve_app(**PROXIED, rate_limit_postcode_failures="1/day") as http:
        unlock = _unlocker(http)
        for i in range(3):
            assert unlock(POSTCODE, f"192.0.2.{i}").status_code == 200
        assert unlock("99999", "192.0.2.9").status_code == 403
        assert unlock(POSTCODE, "192.0.2.1").status_code == 429


def test_two_servers_on_redis_share_the_numbers_cap(
    load: Loader, db: Database, settings: Settings, redis_namespace: str
) -> None:
    load(*_delivered())
    small = settings.model_copy(
        update=PROXIED | {"rate_limit_postcode_failures": "3/day", "redis_url": REDIS_URL}
    )
    one, two = create_app(small, db), create_app(small, db)
    for app in (one, two):  # two server processes, one Redis
        app.state.limiter = Limiter(REDIS_URL, namespace=redis_namespace)
    with serve(one) as first, serve(two) as second:
        assert _unlocker(first)("99999", "192.0.2.1").status_code == 403
        assert _unlocker(second)("99998", "192.0.2.2").status_code == 403
        assert _unlocker(first)("99997", "192.0.2.3").status_code == 403
        refused = _unlocker(second)(POSTCODE, "192.0.2.4")
    assert refused.status_code == 429
    assert SIGNATORY not in refused.text
    assert 3600 < int(refused.headers["retry-after"]) <= 86400
