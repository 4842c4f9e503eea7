"""HTTP caching (issue 15, `emstrack.web.caching`): public answers and pages carry a strong ETag
and `Cache-Control: public`, `Vary`, and answer `304` to `If-None-Match`; a new scan changes the
tag; private answers are `private, no-store`; the batch POST is not cacheable; a 304 is counted
by the rate limiter."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from factories import DELIVERED_TO_DE, Loader, history
from webclient import ServeApp

from emstrack import keys
from emstrack.keys import KeyScope
from emstrack.store.database import Database
from emstrack.web.caching import page_clock

NUMBER = "EE123456785CN"
PUBLIC = "public, max-age=60, stale-while-revalidate=30"


@pytest.fixture
def client(serve_app: ServeApp) -> Iterator[httpx.Client]:
    with serve_app(rate_limit="1000/minute") as http:
        yield http


def _again(client: httpx.Client, url: str, tag: str, **headers: str) -> httpx.Response:
    return client.get(url, headers={"If-None-Match": tag, **headers})


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_api_answer_has_a_strong_etag_and_answers_304(
    load: Loader, client: httpx.Client, lang: str
) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE[:4]))
    url = f"/api/v1/tracking/{NUMBER}?lang={lang}"
    first = client.get(url)
    assert first.status_code == 200
    tag = first.headers["etag"]
    assert tag.startswith('"')
    assert not tag.startswith("W/")
    assert first.headers["cache-control"] == PUBLIC
    assert first.headers["vary"] == "Authorization"
    again = _again(client, url, tag)
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == tag
    assert again.headers["cache-control"] == PUBLIC
    assert again.headers["vary"] == "Authorization"
    assert _again(client, url, f'W/{tag}, "other"').status_code == 304
    assert client.get(url).content == first.content


def test_the_language_and_scope_are_in_the_tag(load: Loader, client: httpx.Client) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE[:4]))
    base = f"/api/v1/tracking/{NUMBER}"
    tags = {client.get(f"{base}?lang={lang}").headers["etag"] for lang in ("en", "zh")}
    tags.add(client.get(f"{base}?scope=international").headers["etag"])
    assert len(tags) == 3
    en = client.get(f"{base}?lang=en").headers["etag"]
    assert _again(client, f"{base}?lang=zh", en).status_code == 200


def test_a_new_scan_changes_the_tag_and_the_old_one_gets_200(
    load: Loader, client: httpx.Client
) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE[:4]))
    url = f"/api/v1/tracking/{NUMBER}"
    before = client.get(url)
    load(*history(NUMBER, DELIVERED_TO_DE[4]))
    after = _again(client, url, before.headers["etag"])
    assert after.status_code == 200
    assert after.headers["etag"] != before.headers["etag"]
    assert after.json()["item"]["event_count"] == 5
    # A duplicate that changes nothing keeps the tag.
    load(*history(NUMBER, DELIVERED_TO_DE[4]))
    assert _again(client, url, after.headers["etag"]).status_code == 304


def test_not_found_and_invalid_are_cacheable_briefly(client: httpx.Client) -> None:
    for number, status in ((NUMBER, 404), ("EE123456784CN", 422)):
        url = f"/api/v1/tracking/{number}"
        first = client.get(url)
        assert first.status_code == status
        assert first.headers["cache-control"] == "public, max-age=15"
        assert _again(client, url, first.headers["etag"]).status_code == 304


def test_a_first_scan_changes_a_not_found_answer(load: Loader, client: httpx.Client) -> None:
    url = f"/api/v1/tracking/{NUMBER}"
    before = client.get(url)
    load(*history(NUMBER, DELIVERED_TO_DE[0]))
    assert _again(client, url, before.headers["etag"]).status_code == 200


def test_private_answers_are_private_no_store(
    load: Loader, client: httpx.Client, db: Database
) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE[:4]))
    headers = {"Authorization": f"Bearer {keys.create(db, 'k', KeyScope.READ_PRIVATE).key}"}
    url = f"/api/v1/tracking/{NUMBER}"
    public_tag = client.get(url).headers["etag"]
    private = client.get(url, headers=headers)
    assert private.status_code == 200
    assert private.headers["cache-control"] == "private, no-store"
    assert "etag" not in private.headers
    assert _again(client, url, public_tag, **headers).status_code == 200


def test_the_batch_is_not_cacheable(load: Loader, client: httpx.Client) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE[:4]))
    response = client.post("/api/v1/tracking/batch", json={"numbers": [NUMBER]})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert "etag" not in response.headers


def test_a_304_is_counted_by_the_rate_limiter(serve_app: ServeApp, load: Loader) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE[:4]))
    url = f"/api/v1/tracking/{NUMBER}"
    with serve_app(rate_limit="3/minute") as http:
        tag = http.get(url).headers["etag"]
        assert _again(http, url, tag).status_code == 304
        assert _again(http, url, tag).headers["ratelimit-remaining"] == "0"
        assert _again(http, url, tag).status_code == 429


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("form", [False, True])
def test_item_page_is_public_and_revalidates_with_its_tag(
    serve_app: ServeApp, load: Loader, lang: str, form: bool
) -> None:
    """With a secret key the page has the follow-by-e-mail form, without one none: either way
    the same bytes for every browser (no per-browser token, no cookie), public, tagged."""
    load(*history(NUMBER, *DELIVERED_TO_DE[:4]))
    url = f"/track/{NUMBER}"
    secret = "s" * 40 if form else ""
    with serve_app(html=True, rate_limit="1000/minute", secret_key=secret) as http:
        http.headers["Accept-Language"] = lang
        page = http.get(url)
        assert page.status_code == 200
        assert "set-cookie" not in page.headers
        assert ('action="/track/' + NUMBER + '/subscribe"' in page.text) is form
        tag = page.headers["etag"]
        assert page.headers["vary"] == "Accept-Language, Cookie"
        assert page.headers["cache-control"] == "public, max-age=60, stale-while-revalidate=30"
        again = _again(http, url, tag)
        if again.status_code == 200:  # the minute turned between the two: the next one holds
            tag = again.headers["etag"]
            again = _again(http, url, tag)
        assert again.status_code == 304
        assert again.headers["etag"] == tag
        # Another browser (its own cookies, or none) holding the tag gets the same 304.
        http.cookies.clear()
        assert _again(http, url, tag, Cookie="seen=1").status_code == 304
        # Another language is another tag.
        other = "zh" if lang == "en" else "en"
        assert _again(http, url, tag, **{"Accept-Language": other}).status_code == 200
        load(*history(NUMBER, DELIVERED_TO_DE[4]))
        changed = _again(http, url, tag)
        assert changed.status_code == 200
        assert changed.headers["etag"] != tag


def test_a_page_without_an_item_is_public_briefly(serve_app: ServeApp) -> None:
    with serve_app(html=True, secret_key="") as http:
        page = http.get("/track/EE123456784CN")  # invalid: no form to follow or unlock
        assert page.status_code == 422
        assert page.headers["cache-control"] == "public, max-age=15"
        assert _again(http, "/track/EE123456784CN", page.headers["etag"]).status_code == 304


def test_a_page_of_several_items_is_public_briefly(serve_app: ServeApp, load: Loader) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE[:4]))
    url = f"/track?n={NUMBER},EE123456784CN"
    with serve_app(html=True, rate_limit="1000/minute") as http:
        page = http.get(url)
        assert page.status_code == 200
        assert page.headers["cache-control"] == "public, max-age=15"
        assert _again(http, url, page.headers["etag"]).status_code == 304


def test_choosing_a_language_by_the_url_is_this_browsers_answer(serve_app: ServeApp) -> None:
    with serve_app(html=True) as http:
        page = http.get("/track/EE123456784CN?lang=zh")
        assert "lang=" in page.headers["set-cookie"]
        assert page.headers["cache-control"] == "private, no-store"


def test_the_page_clock_rounds_up_to_the_minute() -> None:
    assert page_clock(datetime(2026, 1, 1, 9, 0, tzinfo=UTC)) == datetime(
        2026, 1, 1, 9, 0, tzinfo=UTC
    )
    assert page_clock(datetime(2026, 1, 1, 9, 0, 1, tzinfo=UTC)) == datetime(
        2026, 1, 1, 9, 1, tzinfo=UTC
    )
