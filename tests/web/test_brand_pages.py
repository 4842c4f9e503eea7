"""Every page under a second brand (Northwind Post, `tests/brands.py`): its name, its hotline
and its footer are there, and no trace of the default brand (China Post EMS) is left. Over real
HTTP, in English and Chinese, on both databases.

The items are British ones, so that nothing on a page is about China because of the item itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from brands import (
    DEFAULT_TRACES,
    FOOTER_EN,
    FOOTER_ZH,
    HOTLINE,
    HOTLINE_TEL,
    LOGO,
    NAME_EN,
    NAME_ZH,
    PRIMARY,
    write_brand,
)
from factories import Loader, history
from sqlalchemy import Engine
from webclient import ServeApp, same_origin

from emstrack.domain.lang import Lang
from emstrack.store.outbox import notices

DELIVERED = "EE123456785GB"
HELD = "CP123456785GB"
NOT_YET = "RR473124829GB"
INVALID = "EE123456784GB"
SECRET = "n" * 40

GB_TO_DE = (
    ("EMA", "2026-11-02T09:12", "GBLONA", "GB"),
    ("EMC", "2026-11-03T23:05", "GBLONA", "GB"),
    ("EMD", "2026-11-05T06:30", "DEFRAA", "DE"),
    ("EMI", "2026-11-07T11:45", "DEBERB", "DE"),
)
HELD_BY_CUSTOMS = (
    ("EMA", "2026-11-02T09:12", "GBLONA", "GB"),
    ("EMC", "2026-11-03T23:05", "GBLONA", "GB"),
    ("EMD", "2026-11-05T06:30", "DEFRAA", "DE"),
    ("EDB", "2026-11-05T09:00", "DEFRAA", "DE"),
    ("EME", "2026-11-05T15:00", "DEFRAA", "DE"),
)
SCAM = (
    f"Northwind: your parcel {HELD} is held by customs. Pay the duty within 24 hours at "
    "https://nw-customs-fee.top or it will be returned."
)
NAME = {"en": NAME_EN, "zh": NAME_ZH}
FOOTER = {"en": FOOTER_EN, "zh": FOOTER_ZH}


@pytest.fixture
def brand_file(tmp_path: Path) -> Path:
    return write_brand(tmp_path / "brand")


@pytest.fixture
def client(serve_app: ServeApp, brand_file: Path, load: Loader) -> Iterator[httpx.Client]:
    load(*history(DELIVERED, *GB_TO_DE), *history(HELD, *HELD_BY_CUSTOMS))
    with serve_app(
        html=True,
        brand_file=str(brand_file),
        secret_key=SECRET,
        public_url="https://track.northwind.example",
    ) as http:
        yield http


def assert_branded(html: str, lang: Lang) -> None:
    """The page is Northwind's: its name, hotline (a `tel:` link), footer; nothing of EMS's."""
    assert "<title>" in html
    assert f" · {NAME[lang]}</title>" in html
    assert f'<span class="brand-name">{NAME[lang]}</span>' in html
    assert f'<a href="{HOTLINE_TEL}">{HOTLINE}</a>' in html
    assert FOOTER[lang] in html
    assert re.search(r'<link rel="stylesheet" href="/brand\.css\?v=\w+">', html)
    assert re.search(r'<img src="/brand/logo\.svg\?v=\w+"', html)
    assert "/static/logo.svg" not in html
    # The support page's directory of every country's post names China's too (China Post,
    # 11183): it is about where an item goes, not about whose site this is.
    own = re.sub(r'<table class="directory">.*?</table>', "", html, flags=re.S)
    left = [trace for trace in DEFAULT_TRACES if trace in own]
    assert left == [], f"traces of the default brand: {left}"


def pages(client: httpx.Client, engine: Engine, lang: Lang) -> dict[str, httpx.Response]:
    """Every page of the site, in `lang`."""
    q = f"?lang={lang}"
    got: dict[str, httpx.Response] = {}
    for name, path in [
        ("home", "/"),
        ("item found", f"/track/{DELIVERED}"),
        ("item held by customs", f"/track/{HELD}"),
        ("item not found yet", f"/track/{NOT_YET}"),
        ("item invalid", f"/track/{INVALID}"),
        ("several items", f"/track?n={DELIVERED},{NOT_YET},{INVALID}"),
        ("check form", "/check"),
        ("support", "/support"),
        ("security", "/security"),
        ("404", "/no/such/page"),
    ]:
        got[name] = client.get(path + q)
    own = same_origin(client)  # a browser's form from a page of this site
    got["empty track form"] = client.post("/track" + q, data={"n": " "})
    got["pasted message"] = client.post("/track" + q, data={"n": SCAM})
    got["check result"] = client.post("/check" + q, data={"text": SCAM}, headers=own)
    got["check without text"] = client.post("/check" + q, data={"text": " "}, headers=own)
    elsewhere = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
    got["form from another site"] = client.post(
        "/check" + q, data={"text": SCAM}, headers=elsewhere
    )
    got["wrong postcode"] = client.post(
        f"/track/{DELIVERED}/details{q}", data={"postcode": "99999"}, headers=own
    )
    address = f"ana.{lang}@example.com"
    got["subscribed"] = client.post(
        f"/track/{HELD}/subscribe{q}", data={"email": address}, headers=own
    )
    with engine.connect() as conn:
        (notice,) = [n for n in notices(conn) if n.kind == "confirm"]
    for kind in ("confirm", "unsubscribe"):
        url = httpx.URL(notice.payload[kind])
        link = f"{url.path}?{url.query.decode()}&lang={lang}"
        got[f"{kind} form"] = client.get(link)
        data = {"token": url.params["token"]}
        got[f"{kind}ed"] = client.post(f"{url.path}{q}", data=data, headers=own)
    return got


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_page_is_the_brands_and_none_is_the_defaults(
    client: httpx.Client, engine: Engine, lang: Lang
) -> None:
    got = pages(client, engine, lang)
    statuses = {name: response.status_code for name, response in got.items()}
    assert statuses["item found"] == 200
    assert statuses["404"] == 404
    assert statuses["form from another site"] == 403
    assert statuses["subscribed"] == 200
    assert statuses["confirmed"] == 200
    for name, response in got.items():
        assert response.headers["content-type"].startswith("text/html"), name
        try:
            assert_branded(response.text, lang)
        except AssertionError as exc:
            raise AssertionError(f"{name} ({statuses[name]}): {exc}") from exc


def test_the_pages_say_whose_official_site_it_is(client: httpx.Client) -> None:
    home = client.get("/").text
    assert f"This is the official Track & Trace site of {NAME_EN}." in home
    assert "Official Track & Trace site" in home
    assert '<a href="https://www.northwind.example" rel="noopener">Northwind website</a>' in home
    zh = client.get("/?lang=zh").text
    assert f"本网站是{NAME_ZH}的官方邮件查询网站。" in zh
    assert "英国境内客服热线：" in zh


def test_support_and_security_list_every_hotline_by_country(client: httpx.Client) -> None:
    support = client.get("/support").text
    assert "Hotlines in United Kingdom" in support or "Hotlines in the United Kingdom" in support
    assert "Hotlines in Ireland" in support
    assert '<p class="phone"><a href="tel:+35315550100">+353 1 555 0100</a></p>' in support
    assert "Monday to Friday, 8:00 to 18:00" in support
    assert "For items sent to Ireland." in support
    assert "Deutsche Post" in support  # the directory of the posts by country stays
    security = client.get("/security?lang=zh").text
    assert '北风客服热线（英国境内）： <a href="tel:+442079460000">' in security
    assert "北风邮政爱尔兰客服（爱尔兰境内）" in security


def test_the_check_names_the_brands_hotline(client: httpx.Client) -> None:
    page = client.get("/check").text
    assert "<form" in page
    result = client.post("/check", data={"text": SCAM}, headers=same_origin(client)).text
    assert 'data-code="customs_hold_real"' in result
    assert f"or call {HOTLINE}, never through a link" in result
    assert f"When in doubt, call Northwind customer service {HOTLINE}." in result


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_check_api_names_the_brands_hotline(client: httpx.Client, lang: Lang) -> None:
    response = client.post(
        "/api/v1/check-message",
        json={"text": SCAM, "lang": lang},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200
    body = response.json()
    assert any(HOTLINE in line for line in body["advice"])
    held = [r for r in body["reasons"] if r["code"] == "customs_hold_real"]
    assert held
    assert HOTLINE in held[0]["message"]
    said = json.dumps(body, ensure_ascii=False)
    assert [t for t in DEFAULT_TRACES if t in said] == []


def test_the_brands_domains_are_official_and_the_setting_adds_more(
    serve_app: ServeApp, brand_file: Path
) -> None:
    text = "Your item is on its way: https://track.northwind.example/item and https://more.example"
    with serve_app(brand_file=str(brand_file), official_domains="more.example") as http:
        body = http.post("/api/v1/check-message", json={"text": text}).json()
    codes = [r["code"] for r in body["reasons"]]
    assert codes == ["link_official", "link_official"]


def test_the_brands_colours_and_logo_are_served(client: httpx.Client) -> None:
    html = client.get("/").text
    css_url = re.search(r'href="(/brand\.css\?v=\w+)"', html)
    logo_url = re.search(r'src="(/brand/logo\.svg\?v=\w+)"', html)
    assert css_url
    assert logo_url
    css = client.get(css_url.group(1))
    assert css.headers["content-type"].startswith("text/css")
    assert f"--brand: {PRIMARY};" in css.text
    assert "--on-brand: #ffffff;" in css.text
    logo = client.get(logo_url.group(1))
    assert logo.headers["content-type"] == "image/svg+xml"
    assert logo.text == LOGO
    assert client.get("/brand/logo.png").status_code == 404


def test_the_default_brand_is_china_post_ems(serve_app: ServeApp) -> None:
    with serve_app(html=True) as http:
        home = http.get("/").text
        support = http.get("/support").text
        css = http.get("/brand.css").text
    assert " · China Post EMS</title>" in home
    assert '<a href="tel:11183">11183</a>' in home
    assert '<img src="/static/logo.svg"' in home
    assert "--brand: #0a3d62;" in css
    assert "EMS customer service" in support
    assert "tel:11185" in support


def test_the_rate_limit_page_is_the_brands(serve_app: ServeApp, brand_file: Path) -> None:
    with serve_app(html=True, brand_file=str(brand_file), rate_limit="1/minute") as http:
        http.get(f"/track/{DELIVERED}")
        for lang in ("en", "zh"):
            refused = http.get(f"/track/{DELIVERED}?lang={lang}")
            assert refused.status_code == 429
            assert_branded(refused.text, "zh" if lang == "zh" else "en")
