"""The hand-over to the destination post (issue 14 point 1) as people see it: the item page's
block in English and Chinese, the bots' line, the support page's directory with links, and the
issuer named in Chinese on the Chinese page (point 7)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from factories import DELIVERED_TO_DE, Loader, history
from webclient import ServeApp

from emstrack.channels.wording import Words
from emstrack.config import Settings
from emstrack.domain import operators
from emstrack.lookup import Tracker
from emstrack.store.database import Database
from emstrack.web import contacts

NUMBER = "EE123456785CN"
DHL = f"https://www.dhl.de/de/privatkunden/pakete-empfangen/verfolgen.html?piececode={NUMBER}"


@pytest.fixture
def client(serve_app: ServeApp) -> Iterator[httpx.Client]:
    with serve_app(html=True) as http:
        yield http


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _block(html: str) -> str:
    found = re.search(r'<section class="handover".*?</section>', html, re.S)
    assert found, "no hand-over block"
    return found.group(0)


def test_no_block_before_the_item_reaches_its_destination(
    load: Loader, client: httpx.Client
) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE[:3]))
    html = client.get(f"/track/{NUMBER}").text
    assert 'class="handover"' not in html
    assert "dhl.de" not in html


def test_the_block_names_the_operator_and_links_its_tracking_in_english(
    load: Loader, client: httpx.Client
) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE[:4]))
    block = _block(client.get(f"/track/{NUMBER}").text)
    assert "Now with Deutsche Post DHL in Germany" in text(block)
    assert f'href="{DHL}"' in block.replace("&amp;", "&")
    link = re.search(r'<a class="button" href="[^"]+"([^>]*)>', block)
    assert link
    assert 'rel="noopener noreferrer"' in link.group(1)
    assert "Track it on their site" in text(block)
    assert 'href="https://www.dhl.de"' in block
    assert 'href="tel:+492284333112"' in block


def test_the_block_in_chinese_uses_the_operator_s_chinese_name(
    load: Loader, client: httpx.Client
) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE))
    html = client.get(f"/track/{NUMBER}", params={"lang": "zh"}).text
    block = text(_block(html))
    assert "现由德国的德国邮政 DHL投递" in block
    assert "在其官网查询" in block
    # The issuer too: 签发方 中国邮政, not China Post (point 7).
    assert "China Post" not in text(html)
    assert re.search(r"<dt>签发方</dt>\s*<dd>中国邮政</dd>", html)


def test_without_a_tracking_link_the_block_links_the_site(
    load: Loader, client: httpx.Client
) -> None:
    number = "EE123456799CN"
    load(
        *history(
            number,
            ("EMA", "2026-11-02T09:12", "CNBJSD", "CN"),
            ("EMD", "2026-11-05T06:30", "NLAMSA", "NL"),
        )
    )
    block = _block(client.get(f"/track/{number}").text)
    assert "Now with PostNL in Netherlands" in text(block)
    assert 'class="button"' not in block
    assert 'href="https://www.postnl.nl"' in block


def test_the_bots_name_the_operator_and_its_tracking_link(
    load: Loader, db: Database, settings: Settings
) -> None:
    tracker = Tracker(db, settings)
    load(*history(NUMBER, *DELIVERED_TO_DE[:3]))
    before = Words("en", "telegram", settings).result(tracker.lookup(NUMBER))
    assert "Deutsche Post" not in before
    load(*history(NUMBER, *DELIVERED_TO_DE[3:]))
    result = tracker.lookup(NUMBER)
    en = Words("en", "telegram", settings).result(result).splitlines()
    assert f"Now with Deutsche Post DHL in Germany; track it there: {DHL}" in en
    zh = Words("zh", "wechat", settings).result(result).splitlines()
    assert f"现由德国的德国邮政 DHL投递，可在其官网查询：{DHL}" in zh


def test_every_row_of_the_support_directory_links_its_operator(client: httpx.Client) -> None:
    html = client.get("/support").text
    table = re.search(r'<table class="directory">.*?</table>', html, re.S)
    assert table
    rows = re.findall(r"<tr>\s*<th scope=\"row\">.*?</tr>", table.group(0), re.S)
    listed = contacts.load()
    assert len(rows) == len(listed)
    for row, contact in zip(rows, listed, strict=True):
        operator = operators.lookup(contact.country)
        if operator is None:
            continue  # no verified site for it yet: the row says to look for one
        assert f'href="{operator.site}"' in row, contact.country
        for phone in contact.phones:
            assert f'href="{phone.tel}"' in row, contact.country
    linked = sum(1 for c in listed if operators.lookup(c.country))
    assert linked >= len(listed) - 4


def test_the_chinese_support_directory_names_operators_in_chinese(client: httpx.Client) -> None:
    html = client.get("/support", params={"lang": "zh"}).text
    found = re.search(r'<table class="directory">.*?</table>', html, re.S)
    assert found
    table = text(found.group(0))
    for name in ("德国邮政 DHL", "美国邮政", "英国皇家邮政", "日本邮便"):
        assert name in table
    assert "Royal Mail" not in table
    assert "tel:+443457740740" in html
    # The services of a row are in Chinese too (service_zh), never left in English.
    assert "EMS 特快专递" in table
    assert "中国邮政其他业务" in table
    assert "Other China Post services" not in table
