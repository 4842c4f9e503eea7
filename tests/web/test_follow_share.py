"""Copy, share and follow on the item page (issue 14 points 5 and 8), and the several-items view.

The item page shows the number's compact form (what a form or a chat takes) and a link to its
own canonical address; `share.js` adds the copy button (hidden without script). Where the
bots are set up, the "Follow this item" block, right after the status banner, offers Telegram
(`t.me/BOT?start=NUMBER`) and WeChat (the Official Account's QR code, made on the server)
beside e-mail.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from urllib.parse import unquote

import httpx
import pytest
from factories import DELIVERED_TO_DE, Loader, history
from webclient import ServeApp

from emstrack.config import Settings
from emstrack.web import follow

NUMBER = "EE123456785CN"
WAITING = "RR473124829GB"  # valid, never scanned
SECRET = "s" * 40
PUBLIC = "https://track.example.org"
BOT = "EmsTrackTestBot"
QR_URL = "http://weixin.qq.com/r/mp/AbCdEfGhIjKlMnOpQrSt"
MOVING = (
    ("EMA", "2026-11-02T09:12", "CNBJSD", "CN"),
    ("EMC", "2026-11-03T23:05", "CNBJSD", "CN"),
    ("EMD", "2026-11-05T06:30", "DEFRAA", "DE"),
)
BOTS = {
    "telegram_bot_token": "123456:telegram-test-token",
    "telegram_bot_username": BOT,
    "wechat_token": "wechat-test-token",
    "wechat_qr_url": QR_URL,
    "wechat_account_name": "EMS 邮件追踪",
}


@pytest.fixture
def moving(load: Loader) -> None:
    load(*history(NUMBER, *MOVING))


@pytest.fixture
def client(serve_app: ServeApp) -> Iterator[httpx.Client]:
    with serve_app(html=True, secret_key=SECRET, public_url=PUBLIC) as http:
        yield http


@pytest.fixture
def with_bots(serve_app: ServeApp) -> Iterator[httpx.Client]:
    with serve_app(html=True, secret_key=SECRET, public_url=PUBLIC, **BOTS) as http:
        yield http


def _text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


@pytest.mark.usefixtures("moving")
def test_the_item_page_offers_the_compact_number_and_a_link_to_itself(
    client: httpx.Client,
) -> None:
    html = client.get(f"/track/{NUMBER}").text
    assert '<h1 class="number">EE 123 456 785 CN</h1>' in html
    # The compact number, selectable without script; the copy button waits for share.js.
    assert re.search(rf'<span class="compact-value" id="compact-number"[^>]*>{NUMBER}</span>', html)
    button = re.search(r"<button [^>]*class=\"[^\"]*copy-number[^>]*>", html)
    assert button
    assert f'data-copy="{NUMBER}"' in button.group(0)
    assert " hidden" in button.group(0)
    assert re.search(r'<p class="copy-status" role="status" aria-live="polite">', html)
    # The share link is a plain link to the page; what is shared is its canonical address.
    link = re.search(r'<a class="share-link" href="([^"]+)" data-share-url="([^"]+)"', html)
    assert link
    assert link.group(1) == f"/track/{NUMBER}"
    assert link.group(2) == f"{PUBLIC}/track/{NUMBER}"
    assert '<script src="/static/share.js" defer></script>' in html
    assert client.get("/static/share.js").status_code == 200


@pytest.mark.parametrize(
    ("lang", "words"),
    [("en", ["Copy number", "Link to this page"]), ("zh", ["复制单号", "本页链接"])],
)
def test_copy_and_share_in_both_languages(
    client: httpx.Client, lang: str, words: list[str]
) -> None:
    html = client.get(f"/track/{WAITING}?lang={lang}").text
    for word in words:
        assert word in html


def test_an_invalid_number_has_nothing_to_copy_or_share(client: httpx.Client) -> None:
    html = client.get("/track/EE123456789CN").text
    assert "copy-number" not in html
    assert "share-link" not in html


@pytest.mark.usefixtures("moving")
def test_the_follow_block_comes_right_after_the_status_banner(client: httpx.Client) -> None:
    html = client.get(f"/track/{NUMBER}").text
    banner = html.index('<section class="banner')
    block = html.index('<section class="follow" id="follow"')
    assert banner < block < html.index('<ol class="progress"')
    assert block < html.index('id="history-title"')
    assert html.count('id="follow"') == 1
    section = html[block : html.index("</section>", block)]
    assert "Follow this item" in section
    assert 'name="email"' in section


@pytest.mark.usefixtures("moving")
def test_without_the_bots_the_page_offers_only_e_mail(client: httpx.Client) -> None:
    html = client.get(f"/track/{NUMBER}").text
    assert "t.me/" not in html
    assert "data:image/svg+xml" not in html
    assert "Telegram" not in html
    assert "WeChat" not in _text(html)


@pytest.mark.usefixtures("moving")
def test_with_the_bots_the_page_offers_telegram_and_the_wechat_qr_code(
    with_bots: httpx.Client,
) -> None:
    html = with_bots.get(f"/track/{NUMBER}").text
    section = html[html.index('<section class="follow"') :]
    section = section[: section.index("</section>")]
    assert f'href="https://t.me/{BOT}?start={NUMBER}"' in section
    assert "Follow in Telegram" in section
    qr = re.search(r'<img class="qr" src="(data:image/svg\+xml[^"]+)" alt="([^"]+)"', section)
    assert qr
    assert qr.group(2) == "QR code of our WeChat Official Account"
    assert unescape(qr.group(1)) == follow.qr_code(QR_URL)
    svg = unquote(unescape(qr.group(1)).split(",", 1)[1])
    assert svg.startswith("<svg")
    assert "<path" in svg
    assert f"subscribe {NUMBER}" in _text(section)
    assert "EMS 邮件追踪" in _text(section)
    # Beside e-mail, in one block.
    assert 'name="email"' in section


@pytest.mark.usefixtures("moving")
def test_the_chat_offers_in_chinese(with_bots: httpx.Client) -> None:
    html = with_bots.get(f"/track/{NUMBER}?lang=zh").text
    text = _text(html)
    assert "关注此邮件" in text
    assert "在 Telegram 中关注" in text
    assert f"订阅 {NUMBER}" in text
    assert 'alt="本站微信公众号二维码"' in html


def test_an_item_not_scanned_yet_can_be_followed_in_telegram(with_bots: httpx.Client) -> None:
    html = with_bots.get(f"/track/{WAITING}").text
    assert f"https://t.me/{BOT}?start={WAITING}" in html


def test_a_delivered_item_offers_no_following(load: Loader, with_bots: httpx.Client) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE))
    html = with_bots.get(f"/track/{NUMBER}").text
    assert "t.me/" not in html
    assert 'id="follow"' not in html
    assert "share-link" in html  # sharing still makes sense


@pytest.mark.parametrize(
    "changes",
    [
        {"telegram_bot_username": BOT},  # no bot token: no bot to talk to
        {"wechat_qr_url": QR_URL},  # no WeChat token
        {**BOTS, "secret_key": ""},  # no secret key: nothing can be followed
    ],
)
@pytest.mark.usefixtures("moving")
def test_an_offer_needs_its_bot_and_subscriptions(
    serve_app: ServeApp, changes: dict[str, str]
) -> None:
    settings = {"secret_key": SECRET, **changes}
    with serve_app(html=True, **settings) as http:
        html = http.get(f"/track/{NUMBER}").text
    assert "t.me/" not in html
    assert "data:image/svg+xml" not in html


def test_the_qr_code_keeps_the_quiet_zone_and_only_black_on_white() -> None:
    uri = follow.qr_code(QR_URL)
    svg = unquote(uri.split(",", 1)[1])
    assert uri.startswith("data:image/svg+xml")
    assert set(re.findall(r"#[0-9a-fA-F]{3,6}\b", svg)) <= {"#000", "#fff", "#000000", "#ffffff"}
    assert "http" not in svg.replace("http://www.w3.org/2000/svg", "")  # nothing to load


@pytest.mark.parametrize(
    ("given", "kept"), [("@EmsTrackBot", "EmsTrackBot"), ("  ems_track_bot ", "ems_track_bot")]
)
def test_the_bot_username_setting(settings: Settings, given: str, kept: str) -> None:
    assert (
        settings.model_copy(update={"telegram_bot_username": given}).telegram_bot_username == kept
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("telegram_bot_username", "t.me/EmsTrackBot"),
        ("telegram_bot_username", "abc"),
        ("wechat_qr_url", "javascript:alert(1)"),
        ("wechat_qr_url", 'http://weixin.qq.com/r/x" onload="x'),
    ],
)
def test_bad_follow_settings_are_refused(settings: Settings, name: str, value: str) -> None:
    with pytest.raises(ValueError, match="must be"):
        settings.model_copy(update={name: value})


def test_several_items_give_each_its_status_and_sentence(
    load: Loader, client: httpx.Client
) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE))
    html = client.get(f"/track?n={NUMBER},{WAITING},EE123456789CN").text
    rows = re.findall(r"<tr class=\"tone-[a-z]+\">(.*?)</tr>", html, re.S)
    assert len(rows) == 3
    delivered = _text(rows[0])
    assert "Delivered in Germany" in delivered
    # The one sentence of the item page, the API and the bots.
    assert "Delivered on 2026-11-07 11:45 (UTC+1) at DEBERB, Germany." in delivered
    # Each value carries its label, for the cards of a narrow screen.
    assert 'data-label="Status"' in rows[0]
    assert 'data-label="Last scan (local time)"' in rows[0]
    assert "No scan yet" in _text(rows[1])
    assert "check digit" in _text(rows[2]).lower()
    zh = client.get(f"/track?n={NUMBER},{WAITING}&lang=zh").text
    assert 'data-label="状态"' in zh
