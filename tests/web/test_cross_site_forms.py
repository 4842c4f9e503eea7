"""Every form of the pages is refused when the browser says it comes from another site
(`emstrack.web.csrf`), and answered when it comes from this site's page or from no browser."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from webclient import ServeApp

from emstrack.web.csrf import cross_site

NUMBER = "EE123456785CN"
#: Every POST a page's form makes, with fields it would send.
FORMS = [
    ("/check", {"text": "Your parcel is held: pay the fee at https://x.top"}),
    (f"/track/{NUMBER}/details", {"postcode": "10115"}),
    (f"/track/{NUMBER}/subscribe", {"email": "ana@example.com"}),
    ("/subscriptions/confirm", {"token": "forged.token"}),
    ("/subscriptions/unsubscribe", {"token": "forged.token"}),
    ("/app/sign-in", {"email": "ana@example.com"}),
]
ELSEWHERE = [
    {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
    # A sibling subdomain is another origin: its pages are not ours either.
    {"Sec-Fetch-Site": "same-site", "Origin": "https://evil.track.example"},
    {"Origin": "https://evil.example"},  # a browser without Fetch Metadata
    {"Origin": "null"},  # a sandboxed frame, a privacy redirect
    # This host's name on another scheme or port is another origin's page too.
    {"Origin": "http://track.example:8443"},
]


@pytest.fixture
def client(serve_app: ServeApp) -> Iterator[httpx.Client]:
    secret = "cross-site-forms-secret-cross-site-forms"
    with serve_app(html=True, secret_key=secret, public_url="https://track.example") as http:
        yield http


@pytest.mark.parametrize(("path", "fields"), FORMS)
@pytest.mark.parametrize("headers", ELSEWHERE)
def test_a_form_from_another_site_is_refused(
    client: httpx.Client, path: str, fields: dict[str, str], headers: dict[str, str]
) -> None:
    response = client.post(path, data=fields, headers={"Accept": "text/html", **headers})
    assert response.status_code == 403
    assert "This form was sent from another site" in response.text
    zh = client.post(path, data=fields, headers={"Accept-Language": "zh-CN", **headers})
    assert "此表单来自其他网站" in zh.text


@pytest.mark.parametrize(("path", "fields"), FORMS)
def test_a_form_from_this_site_or_no_browser_is_answered(
    client: httpx.Client, path: str, fields: dict[str, str]
) -> None:
    here = f"{client.base_url.scheme}://{client.base_url.netloc.decode()}"
    for headers in (
        {"Sec-Fetch-Site": "same-origin", "Origin": here},
        {"Sec-Fetch-Site": "none"},  # typed or bookmarked
        {"Origin": here},  # a browser without Fetch Metadata, on this host
        # Behind a proxy that rewrites the Host header: the public address is ours.
        {"Origin": "https://track.example"},
        {},  # no browser: a program, which no other site can make a person's browser be
    ):
        response = client.post(path, data=fields, headers={"Accept": "text/html", **headers})
        # Answered for what it says (a wrong postcode is its own 403), never as another site's.
        assert "sent from another site" not in response.text, (path, headers)
        assert response.status_code in (200, 400, 403, 422), (path, headers)


def test_the_rule() -> None:
    own = {"track.example", "127.0.0.1:8000"}
    assert not cross_site("same-origin", "https://evil.example", own)  # Fetch Metadata first
    assert cross_site("cross-site", "https://track.example", own)
    assert cross_site(" Same-Site ", None, own)
    assert not cross_site(" NONE ", None, own)
    assert not cross_site(None, None, own)
    assert not cross_site(None, "https://TRACK.example", own)
    assert not cross_site(None, "http://127.0.0.1:8000", own)
    assert cross_site(None, "http://127.0.0.1:8001", own)
    assert cross_site(None, "null", own)
    assert cross_site(None, "", own)
    assert cross_site(None, "track.example", own)  # not an origin at all
