"""The page `/check` over real HTTP: the form, the verdict in English and Chinese, reporting."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine, func, select
from webclient import ServeApp, same_origin

from emstrack.store.schema import reports

SCAM = "Royal Mail: pay the £1.45 shipping fee now at royalmail.co.uk.pay-fee.com"


@pytest.fixture
def client(serve_app: ServeApp) -> Iterator[httpx.Client]:
    with serve_app(html=True) as http:
        yield http


def _submit(client: httpx.Client, lang: str = "en", **fields: str) -> httpx.Response:
    page = client.get("/check", params={"lang": lang})
    assert page.status_code == 200
    return client.post("/check", params={"lang": lang}, data=fields, headers=same_origin(client))


def _stored(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(reports)).scalar_one())


def test_the_form(client: httpx.Client) -> None:
    html = client.get("/check").text
    assert '<form class="check-form" action="/check" method="post">' in html
    for field in ("text", "sender", "report"):
        assert f'name="{field}"' in html
    assert 'href="/check" aria-current="page"' in html  # in the site navigation


def test_the_security_page_links_to_the_checker(client: httpx.Client) -> None:
    assert 'href="/check">Check a message you received' in client.get("/security").text


def test_a_scam_in_english(client: httpx.Client, engine: Engine) -> None:
    response = _submit(client, text=SCAM)
    assert response.status_code == 200
    assert "This is very likely a scam." in response.text
    assert 'data-code="link_lookalike"' in response.text
    assert "royalmail.co.uk.pay-fee.com" in response.text
    assert "11183" in response.text
    assert response.headers["cache-control"] == "no-store"
    assert _stored(engine) == 0


def test_a_scam_in_chinese(client: httpx.Client) -> None:
    response = _submit(client, "zh", text="请点击 ems-cn.top 补缴运费，24小时内有效")
    assert "这很可能是诈骗信息" in response.text
    assert "官方域名" in response.text
    assert "切勿通过信息中的链接付款" in response.text


def test_no_red_flags(client: httpx.Client) -> None:
    response = _submit(client, text="Your parcel was delivered. Track it at www.ems.com.cn")
    assert "We found none of the usual signs of a scam." in response.text
    # Never a reassurance: finding no sign proves nothing.
    assert "That does not prove the message is genuine" in response.text
    assert 'data-code="link_official"' in response.text


def test_no_red_flags_in_chinese(client: httpx.Client) -> None:
    response = _submit(client, "zh", text="您的邮件已妥投。查询请访问 www.ems.com.cn")
    assert "我们没有发现常见的诈骗迹象" in response.text
    assert "并不能证明信息是真的" in response.text
    assert "96110" in response.text


def test_report_is_stored_only_when_ticked(client: httpx.Client, engine: Engine) -> None:
    _submit(client, text=SCAM, sender="13800138000")
    assert _stored(engine) == 0
    response = _submit(client, text=SCAM, sender="13800138000", report="1")
    assert "the message was reported" in response.text
    assert _stored(engine) == 1


def test_a_report_sent_from_another_site_is_refused(client: httpx.Client, engine: Engine) -> None:
    client.get("/check")
    headers = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
    response = client.post("/check", data={"text": SCAM, "report": "1"}, headers=headers)
    assert response.status_code == 403
    assert "sent from another site" in response.text
    assert _stored(engine) == 0


def test_empty_message_asks_for_one(client: httpx.Client) -> None:
    response = _submit(client, text="   ")
    assert response.status_code == 400
    assert "Please paste the message to check." in response.text
