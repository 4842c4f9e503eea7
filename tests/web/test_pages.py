"""The Track & Trace pages over real HTTP, against a server on loopback, on both databases."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from factories import DELIVERED_TO_DE, Loader, Record, history
from webclient import ServeApp, same_origin

NUMBER = "EE123456785CN"
SIGNATORY = "Erika Mustermann"
POSTCODE = "10115"


@pytest.fixture
def client(serve_app: ServeApp) -> Iterator[httpx.Client]:
    """A browser's client: it asks for HTML pages."""
    with serve_app(html=True) as http:
        yield http


def delivered_with_private_details() -> list[Record]:
    records = history(NUMBER, *DELIVERED_TO_DE)
    for record in records:
        record["destination_postcode"] = POSTCODE
        record["destination_country"] = "DE"
    records[-1]["signatory"] = SIGNATORY
    return records


def text(html: str) -> str:
    """The page's visible words, tags removed, whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_home_has_the_form_with_labels(client: httpx.Client) -> None:
    html = client.get("/").text
    assert '<form class="track-form" action="/track" method="post"' in html
    assert '<label for="n"' in html
    assert 'id="n" name="n"' in html
    assert 'name="scope" value="international"' in html
    assert 'name="scope" value="domestic"' in html
    assert "<legend>Service</legend>" in html
    assert "Search</button>" in html


def test_one_number_found(load: Loader, client: httpx.Client) -> None:
    load(*delivered_with_private_details())
    response = client.get("/track/ee 123 456 785 cn")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = text(response.text)
    assert "Delivered in Germany" in page
    assert "Tracking history" in page
    assert "(UTC+1)" in page  # Berlin in November
    assert "(UTC+8)" in page  # Beijing
    assert "ago" in page
    assert 'aria-current="step"' not in response.text  # delivered: every step done
    assert page.index("Delivered DEBERB") < page.index("Posted / collected")  # newest first


def test_time_without_offset_is_never_called_utc(load: Loader, client: httpx.Client) -> None:
    load({"tracking_number": NUMBER, "event_code": "EMA", "event_time": "2026-11-02T09:12"})
    page = text(client.get(f"/track/{NUMBER}").text)
    assert "local time, offset unknown" in page


def test_current_step_is_marked_in_words(load: Loader, client: httpx.Client) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE[:5]))  # presented to import customs
    html = client.get(f"/track/{NUMBER}").text
    assert re.search(r'aria-current="step">.*?Customs.*?\(current step\)', html, re.S)
    assert "With customs in Germany" in text(html)


def test_several_numbers_give_rows_in_order(load: Loader, client: httpx.Client) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE))
    response = client.get("/track", params={"n": "RR473124829GB, EE123456785CN\nEE12345678CN"})
    rows = re.findall(r'<th scope="row"><a href="/track/([^"]+)">', response.text)
    assert rows == ["RR473124829GB", NUMBER, "EE12345678CN"]
    page = text(response.text)
    assert "No scan yet" in page
    assert "Delivered in Germany" in page


def test_one_number_in_the_box_goes_to_its_page(client: httpx.Client) -> None:
    response = client.get("/track", params={"n": "EE 123 456 785 CN", "scope": "international"})
    assert response.status_code == 303
    assert response.headers["location"] == f"/track/{NUMBER}?scope=international"


def test_invalid_number_says_which_part_and_suggests(load: Loader, client: httpx.Client) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE))
    response = client.get("/track/EE123456784CN")
    assert response.status_code == 422
    page = text(response.text)
    assert "Check digit (the 9th digit): The check digit should be 5, not 4." in page
    assert f'<a href="/track/{NUMBER}">EE 123 456 785 CN</a>' in response.text
    assert "we have this item" in page


def test_missing_country_suffix(client: httpx.Client) -> None:
    page = text(client.get("/track/EE123456785").text)
    assert "Country code (the 2 letters at the end)" in page
    assert "EE 123 456 785 CN" in page


def test_not_found_yet_gives_advice(client: httpx.Client) -> None:
    response = client.get("/track/RR473124829GB")
    assert response.status_code == 404
    page = text(response.text)
    assert "has not been scanned yet" in page
    assert "24 to 48 hours" in page


@pytest.mark.parametrize(
    ("params", "headers"),
    [({"lang": "zh"}, {}), ({}, {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})],
)
def test_chinese_page(
    load: Loader, client: httpx.Client, params: dict[str, str], headers: dict[str, str]
) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE))
    response = client.get(f"/track/{NUMBER}", params=params, headers=headers)
    assert '<html lang="zh-Hans">' in response.text
    page = text(response.text)
    assert "已在德国妥投" in page
    assert "跟踪记录" in page
    assert "已妥投" in page


def test_language_switch_remembers_the_choice(client: httpx.Client) -> None:
    response = client.get("/lang/zh", params={"next": "/support"})
    assert response.status_code == 303
    assert response.headers["location"] == "/support"
    assert "客户服务" in client.get("/support").text  # the cookie now chooses Chinese
    assert client.get("/lang/en", params={"next": "//evil.example"}).headers["location"] == "/"


def test_public_page_has_no_personal_data(load: Loader, client: httpx.Client) -> None:
    records = delivered_with_private_details()
    records[-1]["office_name"] = f"{POSTCODE} Berlin"  # delivery offices named by postcode
    load(*records)
    html = client.get(f"/track/{NUMBER}").text
    assert SIGNATORY not in html
    assert POSTCODE not in html
    assert 'name="postcode"' in html


def _unlock(
    client: httpx.Client, postcode: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    page = client.get(f"/track/{NUMBER}").text
    assert 'name="postcode"' in page
    data = {"postcode": postcode}
    return client.post(f"/track/{NUMBER}/details", data=data, headers=headers)


def test_right_postcode_reveals_the_signatory(load: Loader, client: httpx.Client) -> None:
    load(*delivered_with_private_details())
    response = _unlock(client, " 10 115 ")
    assert response.status_code == 200
    assert SIGNATORY in response.text
    assert response.headers["cache-control"] == "private, no-store"


def test_wrong_postcode_reveals_nothing(load: Loader, client: httpx.Client) -> None:
    load(*delivered_with_private_details())
    response = _unlock(client, "99999")
    assert response.status_code == 403
    assert SIGNATORY not in response.text
    assert "does not match" in response.text


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "same-site", "Origin": "https://evil.track.example"},
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
    ],
)
def test_postcode_sent_from_another_site_is_refused(
    load: Loader, client: httpx.Client, headers: dict[str, str]
) -> None:
    load(*delivered_with_private_details())
    response = _unlock(client, POSTCODE, headers=headers)
    assert response.status_code == 403
    assert SIGNATORY not in response.text
    assert "sent from another site" in response.text
    # The same browser's form from this site's page is answered.
    assert _unlock(client, POSTCODE, headers=same_origin(client)).status_code == 200


def test_support_lists_the_hotlines_and_the_directory(client: httpx.Client) -> None:
    page = text(client.get("/support").text)
    assert "11183" in page
    assert "11185" in page
    assert "Deutsche Post" in page


def test_security_page(client: httpx.Client) -> None:
    page = text(client.get("/security").text)
    assert "never" in page
    assert "link" in page


def test_browsers_get_a_friendly_404(client: httpx.Client) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Page not found" in response.text
    api = client.get("/api/v1/nothing", headers={"Accept": "application/json"})
    assert api.headers["content-type"] == "application/problem+json"


_ASSET = re.compile(r"""(?:src|href|action)=["']([^"']+)|url\(([^)]+)\)|@import\s+["']([^"']+)""")
#: A link people follow loads nothing by itself (the operator's own site in the footer).
_LINK = re.compile(r"<a\s[^>]*>")


@pytest.mark.parametrize("path", ["/", f"/track/{NUMBER}", "/support", "/security", "/track?n=A,B"])
def test_nothing_is_loaded_from_another_site(load: Loader, client: httpx.Client, path: str) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE))
    html = client.get(path).text
    css = [client.get(href).text for href in re.findall(r'href="(/static/[^"]+\.css)"', html)]
    assert css
    for body in [html, *css]:
        for match in _ASSET.finditer(_LINK.sub("", body)):
            target = next(g for g in match.groups() if g)
            assert not re.match(r"\s*(https?:)?//", target), target
    # Scripts only from the package's own files, and none inline (the policy runs no other).
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert all(re.fullmatch(r'<script src="/static/[\w.-]+\.js" defer>', tag) for tag in scripts)
    assert not re.search(r"<script\b[^>]*>\s*[^<\s]", html)
    assert "style=" not in html


def test_a_domestic_number_under_international_is_still_found(
    load: Loader, client: httpx.Client
) -> None:
    load(*history("1012345678901", ("EMA", "2026-11-20T10:00", "", "CN")))
    response = client.get("/track", params={"n": "1012345678901", "scope": "international"})
    page = text(client.get(response.headers["location"]).text)
    assert "Posted" in page
    assert "not a valid tracking number" not in page


def test_pages_share_the_lookup_limit_per_address(serve_app: ServeApp) -> None:
    with serve_app(html=True, rate_limit="3/minute") as http:
        assert http.get("/track", params={"n": "EE123456785CN, RR473124829GB"}).status_code == 200
        assert http.get("/track/EE123456785CN").status_code == 404
        refused = http.get("/track/EE123456785CN")
        assert refused.status_code == 429
        assert refused.headers["retry-after"]
        assert refused.headers["content-type"].startswith("text/html")
