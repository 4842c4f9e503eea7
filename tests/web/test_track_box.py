"""The track box (issue 14 points 2 and 4): numbers, however pasted, go on to their GET page; a
pasted message is answered with its numbers tracked and an offer to check it for a scam, its
text carried by POST only: never in a URL, a Location, the access log, a heading or a title.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator
from urllib.parse import unquote_plus

import httpx
import pytest
from factories import DELIVERED_TO_DE, Loader, history
from webclient import ServeApp, serve_url

from emstrack.config import Settings
from emstrack.store.database import Database
from emstrack.web.app import create_app

NUMBER = "EE123456785CN"
OTHER = "RR473124829GB"
SMS = (
    f"EMS: your parcel {NUMBER} is held at customs, pay the duty of 12.50 CNY within 24 hours "
    "at https://ems-cn-delivery.top/pay or it will be returned to the sender."
)
SMS_ZH = (
    f"【中国邮政】您的包裹{NUMBER}因地址不详被海关扣留，"
    "请在24小时内点击 http://ems-cn.top/p 补交关税，逾期退回。"
)
NO_NUMBER = (
    "Royal Mail: your parcel could not be delivered. Pay the £1.45 redelivery fee now at "
    "royalmail.co.uk.pay-fee.com"
)
INTL = "scope=international"
HELD = f"Your parcel {NUMBER} is held at customs, pay the duty today or it goes back"
#: Words of the messages that no page, URL or log line may repeat.
SECRET_WORDS = (
    "ems-cn-delivery",
    "pay the duty",
    "ems-cn.top",
    "补交关税",
    "pay-fee",
    "redelivery",
)


@pytest.fixture
def client(serve_app: ServeApp) -> Iterator[httpx.Client]:
    with serve_app(html=True) as http:
        yield http


def _visible(page: str) -> str:
    """The page without the hidden field that carries the message to /check."""
    return re.sub(r'<input type="hidden" name="text" value="[^"]*">', "", page, flags=re.S)


def _heading_and_title(page: str) -> str:
    found = re.findall(r"<title>(.*?)</title>|<h1[^>]*>(.*?)</h1>", page, re.S)
    return " ".join("".join(parts) for parts in found)


def _hidden_text(page: str) -> str:
    found = re.search(r'<input type="hidden" name="text" value="([^"]*)">', page, re.S)
    assert found, page
    return html.unescape(found[1])


def _assert_clean(text: str) -> None:
    for word in SECRET_WORDS:
        assert word not in text, word


def test_the_box_is_posted_and_enter_submits_it(client: httpx.Client) -> None:
    page = client.get("/").text
    assert '<form class="track-form" action="/track" method="post" role="search">' in page
    # An <input>, not a <textarea>: Enter in it submits the form, with or without JavaScript.
    assert re.search(r'<input id="n" name="n" type="text"[^>]*enterkeyhint="search"', page)
    assert "<textarea" not in page
    assert 'name="scope" value="international" checked' in page


@pytest.mark.parametrize(
    ("typed", "location"),
    [
        ("ee 123 456 785 cn", f"/track/{NUMBER}?scope=international"),
        (f"{NUMBER} is late", f"/track/{NUMBER}?scope=international"),
        # A pasted list: Chromium makes its lines spaces in an <input>; lines and commas too.
        (f"{NUMBER} {OTHER}", f"/track?n={NUMBER},{OTHER}&scope=international"),
        (f"{NUMBER}\n{OTHER}\r\nEE12345678CN", f"/track?n={NUMBER},{OTHER},EE12345678CN&{INTL}"),
        ("EE 123 456 785 CN RR 473 124 829 GB", f"/track?n={NUMBER},{OTHER}&scope=international"),
        (f"{NUMBER}, {OTHER}", f"/track?n={NUMBER},{OTHER}&scope=international"),
    ],
)  # fmt: skip
def test_numbers_go_on_to_their_page(client: httpx.Client, typed: str, location: str) -> None:
    response = client.post("/track", data={"n": typed, "scope": "international"})
    assert response.status_code == 303
    assert response.headers["location"] == location


def test_several_numbers_from_the_box_give_rows(load: Loader, client: httpx.Client) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE))
    response = client.post("/track", data={"n": f"{OTHER} {NUMBER} EE12345678CN"})
    followed = client.get(response.headers["location"])
    assert followed.status_code == 200
    rows = re.findall(r'<th scope="row"><a href="/track/([^"]+)">', followed.text)
    assert rows == [OTHER, NUMBER, "EE12345678CN"]


def test_a_mistyped_number_still_gets_its_page(client: httpx.Client) -> None:
    response = client.post("/track", data={"n": "EE12345678CN"})
    assert response.headers["location"] == "/track/EE12345678CN"


def test_the_language_switch_of_an_answer_to_the_box_goes_home(client: httpx.Client) -> None:
    page = client.post("/track", data={"n": SMS}).text
    switch = re.search(r'class="lang" href="([^"]+)"', page)
    assert switch
    response = client.get(html.unescape(switch[1]), follow_redirects=True)
    assert response.status_code == 200
    assert str(response.url).endswith("/")
    assert "Please enter a tracking number." not in response.text


def test_an_empty_box_asks_for_a_number(client: httpx.Client) -> None:
    response = client.post("/track", data={"n": "  \n "})
    assert response.status_code == 400
    assert "Please enter a tracking number." in response.text


@pytest.mark.parametrize(("message", "lang"), [(SMS, "en"), (SMS_ZH, "zh")])
def test_a_pasted_message_is_tracked_and_offered_the_check(
    load: Loader, client: httpx.Client, message: str, lang: str
) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE))
    response = client.post("/track", params={"lang": lang}, data={"n": message})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    page = response.text
    # The number is tracked ...
    assert f'<a class="pasted-number" href="/track/{NUMBER}">EE 123 456 785 CN</a>' in page
    assert ("Delivered" if lang == "en" else "妥投") in page
    # ... and the check offered: a POST to /check with the message.
    offer = (
        "This looks like a message you received" if lang == "en" else "这看起来是您收到的一条短信"
    )
    assert offer in page
    assert '<form action="/check" method="post">' in page
    assert _hidden_text(page) == message
    # Nowhere else: not in the heading, the title, the box or the language switch.
    _assert_clean(_visible(page))
    assert "too long" not in page
    heading = "Tracking numbers in your message: 1" if lang == "en" else "短信中的邮件号码：1 个"
    assert heading in _heading_and_title(page)
    _assert_clean(_heading_and_title(page))
    assert f'value="{NUMBER}"' in page  # the box again, with the numbers alone


def test_a_message_without_numbers_is_offered_the_check(client: httpx.Client) -> None:
    response = client.post("/track", data={"n": NO_NUMBER})
    assert response.status_code == 200
    assert "No tracking number in your message" in response.text
    assert _hidden_text(response.text) == NO_NUMBER
    _assert_clean(_visible(response.text))


def test_the_offer_lands_on_the_check_with_its_verdict(load: Loader, client: httpx.Client) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE))
    page = client.post("/track", data={"n": SMS}).text
    verdict = client.post("/check", data={"text": _hidden_text(page)})
    assert verdict.status_code == 200
    assert 'class="verdict problem"' in verdict.text
    assert f'<a href="/track/{NUMBER}">EE 123 456 785 CN</a>' in verdict.text


def test_a_long_message_is_cut_to_what_the_check_takes(client: httpx.Client) -> None:
    long = SMS + " Reply STOP." * 1000
    response = client.post("/track", data={"n": long})
    assert response.status_code == 200
    assert len(_hidden_text(response.text)) == 5000


@pytest.mark.parametrize(
    ("path", "params", "location"),
    [
        ("/track", {"n": SMS, "scope": "international"}, f"/track/{NUMBER}?scope=international"),
        ("/track", {"n": f"{SMS} Also {OTHER}."}, f"/track?n={NUMBER},{OTHER}"),
        ("/track", {"n": NO_NUMBER}, "/check"),
        (f"/track/{HELD}", {}, f"/track/{NUMBER}"),
    ],
)
def test_a_message_in_a_url_is_sent_on_to_its_numbers(
    client: httpx.Client, path: str, params: dict[str, str], location: str
) -> None:
    response = client.get(path, params=params)
    assert response.status_code == 303
    assert response.headers["location"] == location


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_no_message_text_in_any_url_location_or_access_log_line(
    load: Loader, db: Database, settings: Settings
) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE))
    logger = logging.getLogger("uvicorn.access")
    with serve_url(create_app(settings, db)) as base:
        # After the server's start, which sets up uvicorn's loggers (warnings only).
        access, level = _Lines(), logger.level
        logger.addHandler(access)
        logger.setLevel(logging.INFO)
        try:
            with httpx.Client(base_url=base, headers={"Accept": "text/html"}) as http:
                seen: list[str] = []
                for message in (SMS, SMS_ZH, NO_NUMBER, f"{NUMBER}\n{OTHER}"):
                    answer = http.post("/track", data={"n": message}, follow_redirects=True)
                    assert answer.status_code == 200
                    seen += [str(r.url) for r in [*answer.history, answer]]
                    seen += [r.headers.get("location", "") for r in answer.history]
                    if "pasted-offer" in answer.text:
                        data = {"text": _hidden_text(answer.text)}
                        checked = http.post("/check", data=data)
                        assert checked.status_code == 200
                        seen.append(str(checked.url))
                        # The switch to the other language leads to no URL with the text.
                        switch = re.search(r'class="lang" href="([^"]+)"', answer.text)
                        assert switch
                        seen.append(html.unescape(switch[1]))
        finally:
            logger.removeHandler(access)
            logger.setLevel(level)
    assert any("POST /track" in line for line in access.lines), access.lines
    for line in [*seen, *access.lines]:
        _assert_clean(unquote_plus(line))
