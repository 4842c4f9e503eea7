"""The chat bots' lookup limits, per chat user and per channel, through the real endpoints.

Each tracking number looked up costs one, as on the web; a refusal is a reply in the chat's
language saying when to try again, never silence and never a 4xx the platform would retry.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis
from factories import DELIVERED_TO_DE, Loader, history
from sqlalchemy import Engine
from standins import (
    AES_KEY,
    APP_ID,
    BOT_HEADERS,
    BOT_SECRET,
    BOT_TOKEN,
    WECHAT_TOKEN,
    StandIn,
    reply_content,
    signed,
    text_message,
    update,
    wait_until,
)
from webclient import serve

from emstrack.channels import conversation
from emstrack.channels.telegram.polling import run_polling
from emstrack.config import Settings
from emstrack.domain import s10
from emstrack.lookup import Tracker
from emstrack.store.database import Database
from emstrack.web.app import create_app
from emstrack.web.ratelimit import Limiter

REDIS_URL = "redis://127.0.0.1:6379/0"
TEN = [
    "EE123456785CN",
    "RR473124829GB",
    "EA000000014CN",
    "EA000000028CN",
    "EA000000031CN",
    "EA000000045CN",
    "EA000000059CN",
    "EA000000062CN",
    "EA000000076CN",
    "EA000000080CN",
]


def wechat_app(settings: Settings, engine: Engine, **limits: str) -> Any:
    return create_app(
        settings.model_copy(
            update={
                "wechat_token": WECHAT_TOKEN,
                "wechat_aes_key": AES_KEY,
                "wechat_app_id": APP_ID,
                "wechat_max_clock_skew_seconds": 0,
                **limits,
            }
        ),
        Database(engine),
    )


def ask_wechat(http: httpx.Client, content: str, msg_id: int, user: str = "oUSER") -> str:
    response = http.post(
        "/channels/wechat",
        params=signed(nonce=str(msg_id)),
        content=text_message(content, msg_id=str(msg_id), user=user),
    )
    assert response.status_code == 200
    return reply_content(response.content, to_user=user)


def test_wechat_limits_each_user_by_numbers_looked_up(settings: Settings, engine: Engine) -> None:
    app = wechat_app(settings, engine, rate_limit_chat="3/hour")
    with serve(app) as http:
        first = ask_wechat(http, "EE123456785CN RR473124829GB", 1)
        assert "EE123456785CN" in first
        assert "RR473124829GB" in first
        # Two numbers more make four: the whole message is refused, in Chinese, with a time.
        refused = ask_wechat(http, "EA000000014CN EA000000028CN", 2)
        assert "EA000000014CN" not in refused
        assert "查询过于频繁" in refused
        assert "分钟后再试" in refused
        # Another user has an allowance of their own.
        assert "EA000000014CN" in ask_wechat(http, "EA000000014CN", 3, user="oOTHER")
        # Help costs nothing: a limited user can still read it.
        assert "EE123456785CN" in ask_wechat(http, "帮助", 4)


def test_a_message_of_ten_numbers_costs_ten(settings: Settings, engine: Engine) -> None:
    app = wechat_app(settings, engine, rate_limit_chat="10/hour")
    with serve(app) as http:
        answered = ask_wechat(http, "\n".join(TEN), 1)
        assert all(number in answered for number in TEN)
        assert "查询过于频繁" in ask_wechat(http, "EE123456785CN", 2)


def test_wechat_limits_the_channel_as_a_whole(settings: Settings, engine: Engine) -> None:
    app = wechat_app(settings, engine, rate_limit_chat="5/hour", rate_limit_channel="4/hour")
    with serve(app) as http:
        for index, user in enumerate(("oA", "oB", "oC", "oD")):
            assert "查询过于频繁" not in ask_wechat(http, TEN[index], index + 1, user=user)
        assert "查询过于频繁" in ask_wechat(http, TEN[5], 9, user="oE")


@pytest.fixture
def telegram() -> Iterator[tuple[StandIn, str]]:
    fake = StandIn()
    with serve(fake.app) as client:
        yield fake, str(client.base_url)


def bot(settings: Settings, api_base: str, **update_: str) -> Settings:
    return settings.model_copy(
        update={
            "telegram_bot_token": BOT_TOKEN,
            "telegram_secret": BOT_SECRET,
            "telegram_api_base": api_base,
            **update_,
        }
    )


@pytest.mark.parametrize(
    ("lang", "refusal"),
    [("en", "Too many lookups; please try again in "), ("zh-hans", "查询过于频繁")],
)
def test_telegram_refuses_in_the_users_language_with_a_200(
    settings: Settings,
    engine: Engine,
    telegram: tuple[StandIn, str],
    lang: str,
    refusal: str,
) -> None:
    fake, base = telegram
    with serve(create_app(bot(settings, base, rate_limit_chat="2/hour"), Database(engine))) as http:
        for update_id, text in enumerate(["EE123456785CN", "/track RR473124829GB", TEN[2]]):
            response = http.post(
                "/channels/telegram", json=update(update_id, text, lang=lang), headers=BOT_HEADERS
            )
            assert response.status_code == 200
    texts = [sent["text"] for sent in fake.sent]
    assert len(texts) == 3
    assert texts[0].startswith("EE123456785CN")
    assert texts[1].startswith("RR473124829GB")
    assert texts[2].startswith(refusal)
    assert TEN[2] not in texts[2]


def test_telegram_counts_per_user_and_per_channel(
    settings: Settings, engine: Engine, telegram: tuple[StandIn, str]
) -> None:
    fake, base = telegram
    limits = {"rate_limit_chat": "1/hour", "rate_limit_channel": "2/hour"}
    with serve(create_app(bot(settings, base, **limits), Database(engine))) as http:
        for update_id, chat_id in enumerate((1, 1, 2, 3)):
            body = update(update_id, TEN[update_id], chat_id=chat_id)
            http.post("/channels/telegram", json=body, headers=BOT_HEADERS)
    refused = [sent["chat_id"] for sent in fake.sent if "Too many lookups" in sent["text"]]
    # Chat 1's second number is over its own limit (and not charged to the channel); chat 2
    # takes the channel's second lookup; chat 3 finds the channel spent.
    assert refused == [1, 3]


@pytest.fixture
def redis_chat() -> Iterator[int]:
    """A chat id of its own for this run, whose counters in Redis are deleted at the end."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.skip(f"no Redis server at {REDIS_URL}: {exc}")
    chat_id = 10**9 + uuid.uuid4().int % 10**9
    yield chat_id
    for key in client.scan_iter(f"*chat:telegram:{chat_id}*"):
        client.delete(key)
    client.close()


def test_polling_shares_the_web_servers_limits_through_redis(
    settings: Settings, engine: Engine, telegram: tuple[StandIn, str], redis_chat: int
) -> None:
    fake, base = telegram
    shared = bot(settings, base, rate_limit_chat="2/hour", redis_url=REDIS_URL)
    with serve(create_app(shared, Database(engine))) as http:
        body = update(1, "EE123456785CN RR473124829GB", chat_id=redis_chat)
        assert http.post("/channels/telegram", json=body, headers=BOT_HEADERS).status_code == 200
    assert "RR473124829GB" in fake.sent[0]["text"]
    # `emstrack telegram poll` is another process: only Redis can tell it about the webhook's.
    fake.updates = [update(2, TEN[2], chat_id=redis_chat)]
    stop = threading.Event()
    thread = threading.Thread(
        target=run_polling,
        args=(shared, Database(engine), stop),
        kwargs={"limits": Limiter(REDIS_URL), "poll_timeout": 0},
    )
    thread.start()
    try:
        wait_until(lambda: len(fake.sent) >= 2)
    finally:
        stop.set()
        thread.join(10)
    assert fake.sent[1]["chat_id"] == redis_chat
    assert fake.sent[1]["text"].startswith("Too many lookups")


def test_polling_limits_without_redis(
    settings: Settings, engine: Engine, telegram: tuple[StandIn, str]
) -> None:
    fake, base = telegram
    fake.updates = [update(1, "EE123456785CN"), update(2, "RR473124829GB")]
    stop = threading.Event()
    thread = threading.Thread(
        target=run_polling,
        args=(bot(settings, base, rate_limit_chat="1/hour"), Database(engine), stop),
        kwargs={"limits": Limiter(), "poll_timeout": 0},
    )
    thread.start()
    try:
        wait_until(lambda: len(fake.sent) >= 2)
    finally:
        stop.set()
        thread.join(10)
    assert fake.sent[0]["text"].startswith("EE123456785CN")
    assert fake.sent[1]["text"].startswith("Too many lookups")


@pytest.mark.parametrize(
    ("limit", "lang", "wait"),
    [
        ("1/minute", "en", " seconds."),
        ("1/hour", "en", "in 60 minutes."),
        ("1/day", "en", "in 24 hours."),
        ("1/minute", "zh", " 秒后再试。"),
        ("1/hour", "zh", "请 60 分钟后再试。"),
        ("1/day", "zh", "请 24 小时后再试。"),
    ],
)
def test_the_refusal_says_when_to_try_again(
    settings: Settings, engine: Engine, limit: str, lang: str, wait: str
) -> None:
    limited = settings.model_copy(update={"rate_limit_chat": limit})
    db = Database(engine)
    bot = conversation.Bot(db, Tracker(db, limited), limited, Limiter())

    def ask(number: str) -> str:
        reply = conversation.answer(bot, number, channel="telegram", user="1111", lang=lang)
        assert reply is not None
        return reply

    assert ask("EE123456785CN").startswith("EE123456785CN")
    assert ask("RR473124829GB").endswith(wait)


def test_did_you_mean_checks_are_paid_for_in_chat(
    settings: Settings, engine: Engine, load: Loader
) -> None:
    """Each candidate of a mistyped number checked against the records tells whether that
    number exists: the sender pays one for each, as on the web, and past the allowance none is
    checked."""
    typo = "EE123456784CN"  # the check digit should be 5
    candidates = s10.lookup_candidates(s10.parse(typo))
    assert len(candidates) == 8
    for number in candidates:
        load(*history(number, *DELIVERED_TO_DE))
    app = wechat_app(settings, engine, rate_limit_chat="5/hour")
    with serve(app) as http:
        answered = ask_wechat(http, typo, 1)
        assert typo in answered or "EE123456785CN" in answered
        # One for the number and four for the candidates it could still pay for: spent.
        assert "查询过于频繁" in ask_wechat(http, "EE123456785CN", 2)
