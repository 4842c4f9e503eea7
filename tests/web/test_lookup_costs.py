"""Every lookup is paid for: each number a message quotes, each "did you mean" candidate checked.

Through the real server on loopback, on both databases. A check against the records tells
whether a number exists, so a caller learns about at most as many numbers in a window as its
limit allows, however the lookups are wrapped (a message, a typo's candidates, a batch, a page).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from factories import DELIVERED_TO_DE, Loader, history
from webclient import ServeApp

from emstrack.domain import s10

TEN = [
    "EE123456785CN",
    "RR473124829GB",
    "EA000000014CN",
    "EA000000028CN",
    "EA000000031CN",
    "EA000000045CN",
    "EA000000059CN",
    "EA000000062CN",
    "EA000000076CN",
    "EA000000080CN",
]
#: A typo (the check digit of EE123456785CN is 5) with 8 candidates, all on record here.
TYPO = "EE123456784CN"
CANDIDATES = s10.lookup_candidates(s10.parse(TYPO))


@pytest.fixture
def on_record(load: Loader) -> None:
    assert len(CANDIDATES) == 8
    for number in CANDIDATES:
        load(*history(number, *DELIVERED_TO_DE))


@pytest.fixture
def limited(serve_app: ServeApp) -> Iterator[httpx.Client]:
    """A server allowing 10 anonymous lookups a minute."""
    with serve_app(rate_limit="10/minute") as http:
        yield http


@pytest.fixture
def five(serve_app: ServeApp) -> Iterator[httpx.Client]:
    """A server allowing 5 anonymous lookups a minute."""
    with serve_app(rate_limit="5/minute") as http:
        yield http


def _remaining(response: httpx.Response) -> int:
    return int(response.headers["ratelimit-remaining"])


def test_check_message_costs_one_per_number_looked_up(limited: httpx.Client) -> None:
    text = "Your parcels " + ", ".join(TEN) + " are held: pay the fee at https://ems-pay.top"
    response = limited.post("/api/v1/check-message", json={"text": text})
    assert response.status_code == 200
    assert len(response.json()["tracking_numbers"]) == 10
    assert _remaining(response) == 0
    refused = limited.get(f"/api/v1/tracking/{TEN[0]}")
    assert refused.status_code == 429


def test_check_message_without_numbers_costs_one(limited: httpx.Client) -> None:
    response = limited.post("/api/v1/check-message", json={"text": "Pay at https://x.top now"})
    assert response.status_code == 200
    assert _remaining(response) == 9


def test_check_message_is_refused_when_its_numbers_pass_the_limit(limited: httpx.Client) -> None:
    assert limited.get(f"/api/v1/numbers/{TEN[0]}").status_code == 200  # 9 left
    response = limited.post("/api/v1/check-message", json={"text": " ".join(TEN)})
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"


def test_the_check_page_costs_one_per_number(limited: httpx.Client) -> None:
    form = limited.get("/check", headers={"Accept": "text/html"})
    assert form.status_code == 200
    data = {"text": "Held: " + " ".join(TEN[:4])}
    response = limited.post("/check", data=data, headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert _remaining(response) == 6


def _on_record(body: dict[str, Any]) -> list[str]:
    return [s["number"] for s in body["suggestions"] if s["on_record"]]


@pytest.mark.usefixtures("on_record")
def test_candidates_are_all_checked_within_the_limit(client: httpx.Client) -> None:
    body = client.get(f"/api/v1/tracking/{TYPO}").json()
    assert sorted(_on_record(body)) == sorted(CANDIDATES)
    assert "We have an item with that number" in body["detail"]


@pytest.mark.usefixtures("on_record")
def test_candidates_checked_cost_one_each(five: httpx.Client) -> None:
    response = five.get(f"/api/v1/tracking/{TYPO}")
    assert response.status_code == 422
    # One for the number, four left: four candidates checked, and the limit is spent.
    assert len(_on_record(response.json())) == 4
    assert five.get(f"/api/v1/tracking/{TYPO}").status_code == 429


@pytest.mark.usefixtures("on_record")
def test_candidates_are_never_a_reason_to_refuse(five: httpx.Client) -> None:
    for _ in range(4):
        assert five.get(f"/api/v1/numbers/{TEN[0]}").status_code == 200
    response = five.get(f"/api/v1/tracking/{TYPO}")
    assert response.status_code == 422
    body = response.json()
    assert _on_record(body) == []  # nothing left to check them with
    # What needs no record is still offered: the check digit's correction.
    assert [s["number"] for s in body["suggestions"]] == ["EE123456785CN"]


@pytest.mark.usefixtures("on_record")
def test_a_batch_shares_one_allowance_between_its_numbers(limited: httpx.Client) -> None:
    response = limited.post("/api/v1/tracking/batch", json={"numbers": [TYPO, TYPO]})
    assert response.status_code == 200
    first, second = response.json()["results"]
    # Two for the numbers, eight for the candidates of the first; none for the second.
    assert len(_on_record(first)) == 8
    assert _on_record(second) == []
    assert limited.get(f"/api/v1/numbers/{TEN[0]}").status_code == 429


@pytest.mark.usefixtures("on_record")
def test_the_page_shows_only_the_candidates_it_could_pay_for(five: httpx.Client) -> None:
    response = five.get(f"/track/{TYPO}", headers={"Accept": "text/html"})
    assert response.status_code == 422
    assert response.text.count("we have this item") == 4
    assert five.get(f"/track/{TYPO}", headers={"Accept": "text/html"}).status_code == 429
