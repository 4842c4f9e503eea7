"""`/channels/telegram` and polling mode against a stand-in Bot API on loopback."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from standins import BOT_HEADERS, BOT_SECRET, BOT_TOKEN, StandIn, update, wait_until
from webclient import serve

from emstrack.channels.telegram.polling import run_polling
from emstrack.config import Settings
from emstrack.store.database import Database
from emstrack.store.schema import subscriptions
from emstrack.web.app import create_app
from emstrack.web.ratelimit import Limiter


@pytest.fixture
def stand_in() -> Iterator[tuple[StandIn, str]]:
    fake = StandIn()
    with serve(fake.app) as client:
        yield fake, str(client.base_url)


@pytest.fixture
def bot_settings(settings: Settings, stand_in: tuple[StandIn, str]) -> Settings:
    return settings.model_copy(
        update={
            "telegram_bot_token": BOT_TOKEN,
            "telegram_secret": BOT_SECRET,
            "telegram_api_base": stand_in[1],
            "secret_key": "test-secret-key-that-is-long-enough-for-tokens-0123456789",
        }
    )


@pytest.fixture
def http(bot_settings: Settings, db: Database) -> Iterator[httpx.Client]:
    with serve(create_app(bot_settings, db)) as client:
        yield client


@pytest.fixture
def sent(stand_in: tuple[StandIn, str]) -> list[dict[str, Any]]:
    return stand_in[0].sent


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}, {"X-Telegram-Bot-Api-Secret-Token": ""}],
)
def test_missing_or_wrong_secret_is_403(
    http: httpx.Client, sent: list[dict[str, Any]], headers: dict[str, str]
) -> None:
    response = http.post("/channels/telegram", json=update(1, "EE123456785CN"), headers=headers)
    assert response.status_code == 403
    assert sent == []


def test_a_webhook_without_a_configured_secret_is_refused(
    bot_settings: Settings, db: Database
) -> None:
    no_secret = bot_settings.model_copy(update={"telegram_secret": ""})
    with serve(create_app(no_secret, db)) as client:
        response = client.post(
            "/channels/telegram",
            json=update(1, "x"),
            headers={"X-Telegram-Bot-Api-Secret-Token": ""},
        )
        assert response.status_code == 403


def test_channel_off_without_a_token_is_404(settings: Settings, db: Database) -> None:
    with serve(create_app(settings, db)) as client:
        assert client.post("/channels/telegram", json={}, headers=BOT_HEADERS).status_code == 404


def test_not_json_is_415(http: httpx.Client) -> None:
    response = http.post(
        "/channels/telegram",
        content=b"update_id=1",
        headers={**BOT_HEADERS, "content-type": "text/plain"},
    )
    assert response.status_code == 415


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"update_id": "x"}'])
def test_an_unreadable_update_is_200_and_dropped(
    http: httpx.Client, sent: list[dict[str, Any]], body: bytes
) -> None:
    response = http.post(
        "/channels/telegram",
        content=body,
        headers={**BOT_HEADERS, "content-type": "application/json"},
    )
    assert response.status_code == 200
    assert sent == []


def test_a_plain_number_is_answered_in_the_chat(
    http: httpx.Client, sent: list[dict[str, Any]]
) -> None:
    response = http.post(
        "/channels/telegram", json=update(10, "EE123456785CN"), headers=BOT_HEADERS
    )
    assert response.status_code == 200
    assert len(sent) == 1
    assert sent[0]["chat_id"] == 1111
    assert "EE123456785CN" in sent[0]["text"]
    assert "no scan yet" in sent[0]["text"]


def test_track_command_and_chinese_language_code(
    http: httpx.Client, sent: list[dict[str, Any]]
) -> None:
    http.post(
        "/channels/telegram",
        json=update(11, "/track EE123456789CN", lang="zh-hans"),
        headers=BOT_HEADERS,
    )
    assert "邮件号无效" in sent[0]["text"]
    assert "EE123456785CN" in sent[0]["text"]


def test_a_duplicate_update_is_answered_once(
    http: httpx.Client, sent: list[dict[str, Any]]
) -> None:
    for _ in range(3):
        response = http.post(
            "/channels/telegram", json=update(12, "EE123456785CN"), headers=BOT_HEADERS
        )
        assert response.status_code == 200
    assert len(sent) == 1


def test_subscribe_creates_a_telegram_subscription(
    http: httpx.Client, sent: list[dict[str, Any]], db: Database
) -> None:
    http.post(
        "/channels/telegram",
        json=update(13, "/subscribe EE123456785CN", chat_id=-4242),
        headers=BOT_HEADERS,
    )
    assert "Subscribed" in sent[0]["text"]
    with db.read() as conn:
        rows = conn.execute(
            select(subscriptions.c.number, subscriptions.c.target).where(
                subscriptions.c.channel == "telegram"
            )
        ).all()
    assert [tuple(r) for r in rows] == [("EE123456785CN", "-4242")]


def test_junk_gets_the_short_help(http: httpx.Client, sent: list[dict[str, Any]]) -> None:
    http.post("/channels/telegram", json=update(14, "hello bot"), headers=BOT_HEADERS)
    assert sent[0]["text"].startswith("Send a tracking number")


def test_updates_without_text_ask_for_nothing(
    http: httpx.Client, sent: list[dict[str, Any]]
) -> None:
    sticker = update(15, "")
    del sticker["message"]["text"]
    for body in (sticker, {"update_id": 16, "callback_query": {"id": "1"}}):
        assert http.post("/channels/telegram", json=body, headers=BOT_HEADERS).status_code == 200
    assert sent == []


def test_a_failed_send_is_still_200(bot_settings: Settings, db: Database) -> None:
    unreachable = bot_settings.model_copy(update={"telegram_api_base": "http://127.0.0.1:9"})
    with serve(create_app(unreachable, db)) as client:
        response = client.post(
            "/channels/telegram", json=update(17, "EE123456785CN"), headers=BOT_HEADERS
        )
        assert response.status_code == 200


def test_polling_answers_updates_through_the_same_handler(
    bot_settings: Settings, db: Database, stand_in: tuple[StandIn, str]
) -> None:
    fake = stand_in[0]
    fake.updates = [update(20, "EE123456785CN"), update(21, "/help"), update(20, "EE123456785CN")]
    stop = threading.Event()
    thread = threading.Thread(
        target=run_polling,
        args=(bot_settings, db, stop),
        kwargs={"limits": Limiter(), "poll_timeout": 0},
    )
    thread.start()
    try:
        # The poller asks for what follows update 21 once it has handled the whole batch, the
        # repeated update 20 included: that one must not have been answered again.
        wait_until(lambda: any(offset == 22 for offset in fake.offsets))
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert fake.webhook_deleted
    assert [s["text"].splitlines()[0] for s in fake.sent] == [
        "EE123456785CN",
        "Send a tracking number (e.g. EE123456785CN) to see where your item is; up to 10 per "
        "message.",
    ]


def test_a_command_to_another_bot_in_a_group_is_not_answered(
    http: httpx.Client, sent: list[dict[str, Any]]
) -> None:
    group = -100123
    for update_id, text in enumerate(
        ["/track@OtherBot EE123456785CN", "/track@EmsTrackBot RR473124829GB"], start=30
    ):
        body = update(update_id, text, chat_id=group)
        assert http.post("/channels/telegram", json=body, headers=BOT_HEADERS).status_code == 200
    assert [s["text"].splitlines()[0] for s in sent] == ["RR473124829GB"]
