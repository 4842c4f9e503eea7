"""The customer-service message client against a stand-in WeChat API served on loopback."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pytest
from standins import APP_ID, APP_SECRET, FakeWeChat
from webclient import serve_url

from emstrack.channels.wechat.client import REFRESH_MARGIN, WeChatAPI, WeChatAPIError


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake() -> FakeWeChat:
    return FakeWeChat()


@pytest.fixture
def base_url(fake: FakeWeChat) -> Iterator[str]:
    with serve_url(fake.app()) as url:
        yield url


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def api(base_url: str, clock: Clock) -> Iterator[WeChatAPI]:
    client = WeChatAPI(base_url=base_url, app_id=APP_ID, app_secret=APP_SECRET, clock=clock)
    yield client
    client.close()


def test_token_is_fetched_once_and_reused(api: WeChatAPI, fake: FakeWeChat) -> None:
    for number in ("EE123456785CN", "RR123456785CN", "CP123456785CN"):
        api.send_text("oUSER", f"{number}: delivered")
    assert len(fake.tokens_issued) == 1
    assert fake.sent == [
        {"touser": "oUSER", "msgtype": "text", "text": {"content": f"{number}: delivered"}}
        for number in ("EE123456785CN", "RR123456785CN", "CP123456785CN")
    ]


def test_chinese_is_sent_as_utf8_not_escapes(api: WeChatAPI, fake: FakeWeChat) -> None:
    api.send_text("oUSER", "EE123456785CN 已妥投\n第二行")
    assert "已妥投".encode() in fake.raw_bodies[0]
    assert b"\\u" not in fake.raw_bodies[0]
    assert fake.sent[0]["text"]["content"] == "EE123456785CN 已妥投\n第二行"


def test_token_is_refreshed_five_minutes_before_it_expires(
    api: WeChatAPI, fake: FakeWeChat, clock: Clock
) -> None:
    api.send_text("oUSER", "one")
    clock.now += fake.expires_in - REFRESH_MARGIN - 1
    api.send_text("oUSER", "two")
    assert len(fake.tokens_issued) == 1
    clock.now += 2
    api.send_text("oUSER", "three")
    assert len(fake.tokens_issued) == 2
    assert [message["text"]["content"] for message in fake.sent] == ["one", "two", "three"]


def test_voided_token_is_refreshed_once_and_the_message_delivered(
    api: WeChatAPI, fake: FakeWeChat
) -> None:
    api.send_text("oUSER", "before")
    fake.fail_next.append("40001")
    api.send_text("oUSER", "after")
    assert len(fake.tokens_issued) == 3  # ours, the voiding one, and our new one
    assert [message["text"]["content"] for message in fake.sent] == ["before", "after"]


def test_expired_token_42001_is_refreshed(api: WeChatAPI, fake: FakeWeChat) -> None:
    fake.fail_next.append("42001")
    api.send_text("oUSER", "after")
    assert len(fake.tokens_issued) == 2
    assert len(fake.sent) == 1


def test_token_refused_twice_goes_to_the_caller(api: WeChatAPI, fake: FakeWeChat) -> None:
    fake.fail_next.extend(["40001", "40001"])
    with pytest.raises(WeChatAPIError) as caught:
        api.send_text("oUSER", "never")
    assert (caught.value.code, caught.value.retryable) == ("40001", True)
    assert fake.sent == []


@pytest.mark.parametrize(
    ("failure", "code", "retryable"),
    [
        ("45047", "45047", False),  # out of the customer-service quota
        ("45015", "45015", False),  # the 48-hour window after the user's message has passed
        ("48001", "48001", False),  # the account may not use this API
        ("-1", "-1", True),  # system busy
        ("500", "http_500", True),
        ("slow", "network", True),
    ],
)
def test_errors_are_classified(
    base_url: str, fake: FakeWeChat, failure: str, code: str, retryable: bool
) -> None:
    api = WeChatAPI(base_url=base_url, app_id=APP_ID, app_secret=APP_SECRET, timeout=0.3)
    fake.fail_next.append(failure)
    with pytest.raises(WeChatAPIError) as caught:
        api.send_text("oUSER", "hello")
    api.close()
    assert (caught.value.code, caught.value.retryable) == (code, retryable)
    assert len(fake.tokens_issued) == 1
    assert APP_SECRET not in str(caught.value)
    assert fake.tokens_issued[0] not in str(caught.value)


def test_wrong_secret_is_not_retryable_and_not_repeated(base_url: str, fake: FakeWeChat) -> None:
    api = WeChatAPI(base_url=base_url, app_id=APP_ID, app_secret="wrong-secret")
    with pytest.raises(WeChatAPIError) as caught:
        api.send_text("oUSER", "hello")
    api.close()
    assert (caught.value.code, caught.value.retryable) == ("40125", False)
    assert "wrong-secret" not in str(caught.value)
    assert fake.sent == []


def test_unreachable_api_is_a_retryable_network_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port any more.
    api = WeChatAPI(base_url=f"http://127.0.0.1:{port}", app_id=APP_ID, app_secret=APP_SECRET)
    with pytest.raises(WeChatAPIError) as caught:
        api.send_text("oUSER", "hello")
    api.close()
    assert (caught.value.code, caught.value.retryable) == ("network", True)


def test_neither_secret_nor_token_reaches_the_logs(
    api: WeChatAPI, fake: FakeWeChat, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        api.send_text("oUSER", "hello")
    assert "/cgi-bin/token" in caplog.text  # httpx did log the calls
    assert "/cgi-bin/message/custom/send" in caplog.text
    assert APP_SECRET not in caplog.text
    assert fake.tokens_issued[0] not in caplog.text
    assert APP_SECRET not in repr(api)
