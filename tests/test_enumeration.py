"""Enumeration: a client stepping through serial numbers is slowed and learns nothing private.

A demo is loaded, and a client walks consecutive valid numbers around the items on record
against a real server whose anonymous limit is set low. The limiter stops it after the limit
(a batch counts one per number, so it is no faster), the found items it saw carry no personal
data, and a number with no record answers the same document as any other, but for the number.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select
from webclient import serve

from emstrack.config import Settings
from emstrack.demo import load_demo
from emstrack.domain.s10 import check_digit
from emstrack.domain.tracking_number import format_grouped
from emstrack.lookup import PRIVATE_EVENT_FIELDS
from emstrack.store.database import Database
from emstrack.store.schema import events, items
from emstrack.web.app import create_app

LIMIT = 60
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
#: Every field name that carries personal data: the events' and the item's.
PRIVATE_FIELDS = frozenset({*PRIVATE_EVENT_FIELDS, "destination_postcode"})
_S10 = re.compile(r"([A-Z]{2})([0-9]{8})[0-9]([A-Z]{2})")


def neighbour(number: str, step: int) -> str:
    """The valid S10 number `step` serials away from `number` (same service and country)."""
    m = _S10.fullmatch(number)
    assert m is not None
    serial = f"{(int(m[2]) + step) % 100_000_000:08d}"
    return f"{m[1]}{serial}{check_digit(serial)}{m[3]}"


class Demo:
    """The demo's numbers and the personal data it holds, read from the database."""

    def __init__(self, engine: Engine) -> None:
        with engine.connect() as conn:
            rows = conn.execute(select(items.c.number, items.c.kind)).all()
            self.postcodes = set(
                conn.execute(
                    select(items.c.destination_postcode).where(
                        items.c.destination_postcode.is_not(None)
                    )
                ).scalars()
            )
            self.signatories = set(
                conn.execute(
                    select(events.c.signatory).where(events.c.signatory.is_not(None))
                ).scalars()
            )
        self.on_record = {number for number, _ in rows}
        self.s10 = sorted(number for number, kind in rows if kind == "s10")


@pytest.fixture
def demo(engine: Engine) -> Demo:
    load_demo(Database(engine), items=200, seed=3, now=NOW)
    found = Demo(engine)
    assert len(found.s10) >= 20
    assert found.postcodes
    assert found.signatories
    return found


@pytest.fixture
def http(engine: Engine, settings: Settings) -> Iterator[httpx.Client]:
    tight = settings.model_copy(update={"rate_limit": f"{LIMIT}/minute"})
    with serve(create_app(tight, Database(engine))) as client:
        yield client


def walk(demo: Demo) -> list[str]:
    """300 numbers: 20 on record, each between its two neighbours first, then further ones."""
    centres = demo.s10[:: max(1, len(demo.s10) // 20)][:20]
    first = [n for c in centres for n in (neighbour(c, -1), c, neighbour(c, 1))]
    rest = [
        neighbour(c, step) for step in (-6, -5, -4, -3, -2, 2, 3, 4, 5, 6, 7, 8) for c in centres
    ]
    numbers = first + rest
    assert len(numbers) == 300
    return numbers


def strings(doc: Any) -> Iterator[str]:
    """Every string in a JSON document, keys included."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield key
            yield from strings(value)
    elif isinstance(doc, list):
        for value in doc:
            yield from strings(value)
    elif isinstance(doc, str):
        yield doc


def keys(doc: Any) -> Iterator[str]:
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield key
            yield from keys(value)
    elif isinstance(doc, list):
        for value in doc:
            yield from keys(value)


def assert_no_personal_data(doc: Any, demo: Demo) -> None:
    assert not PRIVATE_FIELDS & set(keys(doc))
    for text in strings(doc):
        # Offices are named by their postcode ("69002 LYON"): a postcode alone is personal.
        assert text not in demo.postcodes
        assert not any(name in text for name in demo.signatories), text


def test_stepping_through_numbers_is_slowed_and_learns_nothing_private(
    demo: Demo, http: httpx.Client
) -> None:
    numbers = walk(demo)
    answers = [http.get(f"/api/v1/tracking/{number}") for number in numbers]

    allowed, refused = answers[:LIMIT], answers[LIMIT:]
    for number, response in zip(numbers, allowed, strict=False):
        if number in demo.on_record:
            assert response.status_code == 200, response.text
            assert response.json()["outcome"] == "found"
            assert_no_personal_data(response.json(), demo)
        else:
            assert response.status_code == 404, response.text
            assert response.json()["code"] == "not_found_yet"
    assert sum(number in demo.on_record for number in numbers[:LIMIT]) >= 20

    for response in refused:
        assert response.status_code == 429
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "rate_limited"
        assert 0 < int(response.headers["retry-after"]) <= 60
        assert response.headers["ratelimit-remaining"] == "0"
        # Refused before the lookup: nothing about the number, found or not.
        assert numbers[0] not in response.text
        assert set(response.json()) == {"type", "title", "status", "code", "detail"}


def test_a_number_without_a_record_answers_like_any_other(demo: Demo, http: httpx.Client) -> None:
    """No oracle beyond the number itself: the same document, the same length, for all."""
    numbers = [n for n in walk(demo) if n not in demo.on_record][:LIMIT]
    # The diagnosis names the issuer, from the service indicator and the country: one shape
    # per such pair, whatever the serial.
    shapes: dict[tuple[str, str], set[tuple[str, frozenset[tuple[str, str]]]]] = {}
    for number in numbers:
        response = http.get(f"/api/v1/tracking/{number}")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        text = response.text.replace(format_grouped(number), "<N>").replace(number, "<N>")
        shape = (text, frozenset(_stable(response.headers)))
        shapes.setdefault((number[:2], number[-2:]), set()).add(shape)
    assert len(shapes) > 1
    assert all(len(found) == 1 for found in shapes.values())


def _stable(headers: httpx.Headers) -> Iterator[tuple[str, str]]:
    """The headers that are the same for every answer (not the rate-limit counters or date, nor
    the ETag: a not-found answer's tag is a digest of its own bytes, which hold the number, so it
    tells nothing the body does not)."""
    for name, value in headers.items():
        if name.startswith("ratelimit-") or name in ("date", "content-length", "etag"):
            continue
        yield name, value


def test_a_not_found_answer_is_the_same_for_every_number_of_a_series(
    demo: Demo, http: httpx.Client
) -> None:
    centre = demo.s10[0]
    numbers = [neighbour(centre, step) for step in range(-40, 41)]
    numbers = [n for n in numbers if n not in demo.on_record][:LIMIT]
    bodies = set()
    lengths = set()
    for number in numbers:
        response = http.get(f"/api/v1/tracking/{number}")
        assert response.status_code == 404
        bodies.add(response.text.replace(format_grouped(number), "<N>").replace(number, "<N>"))
        lengths.add(len(response.content))
    assert len(bodies) == 1
    assert len(lengths) == 1  # numbers of one series have the same length: so do the answers


def test_a_batch_counts_one_per_number_toward_the_same_limit(
    demo: Demo, http: httpx.Client
) -> None:
    numbers = walk(demo)
    first = http.post("/api/v1/tracking/batch", json={"numbers": numbers[:50]})
    assert first.status_code == 200
    results = first.json()["results"]
    assert len(results) == 50
    for result in results:
        assert_no_personal_data(result, demo)
    assert first.headers["ratelimit-remaining"] == str(LIMIT - 50)
    # 10 left: a second batch of 50 is refused whole, and so is an eleventh single lookup.
    refused = http.post("/api/v1/tracking/batch", json={"numbers": numbers[50:100]})
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert int(refused.headers["retry-after"]) > 0
    assert "results" not in refused.json()
    statuses = [http.get(f"/api/v1/tracking/{n}").status_code for n in numbers[100:111]]
    assert 429 in statuses
    assert statuses.index(429) <= 10
    assert all(s == 429 for s in statuses[statuses.index(429) :])


def test_the_free_text_description_never_reaches_the_public_view(
    demo: Demo, http: httpx.Client, engine: Engine
) -> None:
    with engine.connect() as conn:
        rows = conn.execute(
            select(events.c.number, events.c.description).where(events.c.description.is_not(None))
        ).all()
    assert rows
    for number, description in rows[:LIMIT]:
        doc = http.get(f"/api/v1/tracking/{number}").json()
        assert description not in set(strings(doc)), (number, description)
