"""A number whose country code no post uses is invalid over the API, with its part marked.

docs/standards/s10.md §7–8; the domain's whole table is tests/domain/test_s10_countries.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from factories import DELIVERED_TO_DE, Loader, history
from webclient import ServeApp

from emstrack.text.catalogue import translations


@pytest.mark.parametrize("number", ["RR287043775XX", "RR287043775ZZ", "RB123456785XX"])
def test_a_void_country_is_422_invalid_with_the_country_marked(
    client: httpx.Client, number: str
) -> None:
    response = client.get(f"/api/v1/tracking/{number}")
    assert response.status_code == 422
    body = response.json()
    assert (body["code"], body["outcome"]) == ("invalid", "invalid")
    (problem,) = body["problems"]
    assert (problem["code"], problem["part"], problem["severity"]) == (
        "unknown_country",
        "country",
        "error",
    )
    assert problem["found"] == number[-2:]
    assert body["suggestions"] == []  # its neighbours are guesses, and none is on record


def test_the_problem_reads_in_chinese(client: httpx.Client) -> None:
    body = client.get("/api/v1/tracking/RR287043775XX", params={"lang": "zh"}).json()
    expected = translations("zh").gettext("The country code at the end is not a known country.")
    assert body["problems"][0]["message"] == expected
    assert "country" not in expected


def test_a_neighbour_on_record_is_offered_first(load: Loader, client: httpx.Client) -> None:
    load(*history("EE123456785DK", *DELIVERED_TO_DE))
    body = client.get("/api/v1/tracking/EE123456785XK").json()
    assert body["outcome"] == "invalid"
    found = [(s["number"], s["on_record"]) for s in body["suggestions"]]
    assert found == [("EE123456785DK", True), ("EE123456785XZ", False)]


@pytest.fixture
def strict(serve_app: ServeApp) -> Iterator[httpx.Client]:
    with serve_app(strict_countries=True) as http:
        yield http


@pytest.mark.parametrize(("number", "status"), [("EE123456785UK", 404), ("RR287043775XX", 422)])
def test_without_strict_a_habit_is_looked_up(
    client: httpx.Client, number: str, status: int
) -> None:
    assert client.get(f"/api/v1/tracking/{number}").status_code == status


def test_strict_rejects_the_habits_too(strict: httpx.Client) -> None:
    body = strict.get("/api/v1/tracking/EE123456785UK").json()
    assert body["outcome"] == "invalid"
    assert body["problems"][0]["code"] == "not_iso_country"
    assert [s["number"] for s in body["suggestions"]] == ["EE123456785GB"]
