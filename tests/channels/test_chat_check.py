"""A message pasted or forwarded to the bots is checked as on `/check`, its numbers tracked too.

Through the real endpoints against the platforms' stand-ins (`standins`), and through the
conversation itself for the rules: which texts are checked (`conversation.Reading`), what a
check costs against the limits, and that a number is looked up once for the check and the
tracking. The expected headline and reasons are the checker's own (`scamcheck.check`), so that
these tests hold whatever its wording.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
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
)
from webclient import serve

from emstrack import scamcheck
from emstrack.channels import conversation
from emstrack.channels.conversation import Reading, reading
from emstrack.channels.telegram.protocol import MAX_TEXT, parse_update
from emstrack.channels.wechat.protocol import MAX_TEXT_BYTES
from emstrack.channels.wording import MAX_REASONS
from emstrack.config import Settings
from emstrack.domain.lang import Lang
from emstrack.lookup import Tracker
from emstrack.store.database import Database
from emstrack.web.app import create_app
from emstrack.web.ratelimit import Limiter

NUMBER = "EE123456785CN"
SCAM_EN = (
    "USPS: your parcel is held. Pay a small redelivery fee within 24 hours at "
    "https://usps-redelivery.com or it will be returned."
)
SCAM_ZH = (
    "【EMS】您的包裹被海关扣留，请在24小时内点击 http://ems-cn-delivery.top 补缴关税，否则退回。"
)
GENUINE_EN = f"EMS: your item {NUMBER} has been delivered. Details at https://www.ems.com.cn"
GENUINE_ZH = f"【EMS】您的邮件 {NUMBER} 已妥投，感谢使用中国邮政速递物流。"
REFUSED = {"en": "Too many lookups", "zh": "查询过于频繁"}


def verdict_of(text: str) -> scamcheck.CheckResult:
    """The checker's own answer, as the bots must give it (no records: no lookup)."""
    return scamcheck.check(text, None)


def headline(text: str, lang: Lang) -> str:
    title, _ = verdict_of(text).headline(lang)
    return title


def first_reason(text: str, lang: Lang) -> str:
    weighing = [r for r in verdict_of(text).reasons if r.weight > 0]
    return weighing[0].message(lang)


# --- through the bots --------------------------------------------------------------------------


@pytest.fixture
def wechat(settings: Settings, engine: Engine) -> Iterator[httpx.Client]:
    configured = settings.model_copy(
        update={
            "wechat_token": WECHAT_TOKEN,
            "wechat_aes_key": AES_KEY,
            "wechat_app_id": APP_ID,
            "wechat_max_clock_skew_seconds": 0,  # the stand-in's signed time is a fixed one
            "public_url": "https://track.example",
        }
    )
    with serve(create_app(configured, Database(engine))) as http:
        yield http


def ask_wechat(http: httpx.Client, content: str, msg_id: int) -> str:
    response = http.post(
        "/channels/wechat",
        params=signed(nonce=str(msg_id)),
        content=text_message(content, msg_id=str(msg_id)),
    )
    assert response.status_code == 200
    return reply_content(response.content)


@pytest.fixture
def telegram(settings: Settings, engine: Engine) -> Iterator[tuple[httpx.Client, StandIn]]:
    fake = StandIn()
    with serve(fake.app) as api:
        configured = settings.model_copy(
            update={
                "telegram_bot_token": BOT_TOKEN,
                "telegram_secret": BOT_SECRET,
                "telegram_api_base": str(api.base_url),
                "public_url": "https://track.example",
            }
        )
        with serve(create_app(configured, Database(engine))) as http:
            yield http, fake


def tell_telegram(bot: tuple[httpx.Client, StandIn], body: dict[str, Any], lang: str = "en") -> str:
    http, fake = bot
    before = len(fake.sent)
    assert http.post("/channels/telegram", json=body, headers=BOT_HEADERS).status_code == 200
    parts = [sent["text"] for sent in fake.sent[before:]]
    assert all(len(part) <= MAX_TEXT for part in parts)
    return "\n".join(parts)


def forwarded(update_id: int, lang: str = "en", **message: Any) -> dict[str, Any]:
    """An update of a message forwarded from another chat (Bot API 7: `forward_origin`)."""
    body = update(update_id, "", lang=lang)
    del body["message"]["text"]
    body["message"]["forward_origin"] = {"type": "hidden_user", "sender_user_name": "EMS"}
    body["message"].update(message)
    return body


@pytest.mark.parametrize("scam", [SCAM_EN, SCAM_ZH])
def test_a_scam_pasted_to_wechat_gets_the_verdict_and_reasons(
    wechat: httpx.Client, scam: str
) -> None:
    reply = ask_wechat(wechat, scam, 1)  # in Chinese: WeChat's language when no other is asked
    assert verdict_of(scam).verdict is scamcheck.Verdict.LIKELY_SCAM
    assert reply.startswith(headline(scam, "zh"))
    assert first_reason(scam, "zh") in reply
    assert "96110" in reply
    assert len(reply.encode()) <= MAX_TEXT_BYTES


@pytest.mark.parametrize(("scam", "lang"), [(SCAM_EN, "en"), (SCAM_ZH, "zh")])
def test_a_scam_pasted_to_telegram_gets_the_verdict_and_reasons(
    telegram: tuple[httpx.Client, StandIn], scam: str, lang: Lang
) -> None:
    reply = tell_telegram(telegram, update(1, scam, lang=lang))
    assert reply.startswith(headline(scam, lang))
    assert first_reason(scam, lang) in reply
    assert ("96110" in reply) is (lang == "zh")


@pytest.mark.parametrize(("scam", "lang"), [(SCAM_EN, "en"), (SCAM_ZH, "zh-hans")])
def test_a_forwarded_message_is_read_from_its_text_or_caption(
    telegram: tuple[httpx.Client, StandIn], scam: str, lang: str
) -> None:
    as_text = tell_telegram(telegram, forwarded(1, lang, text=scam))
    as_caption = tell_telegram(telegram, forwarded(2, lang, caption=scam, photo=[]))
    expected = headline(scam, "zh" if lang.startswith("zh") else "en")
    assert as_text.startswith(expected)
    assert as_caption == as_text


def test_a_forwarded_message_is_checked_however_short_and_holds_no_command(
    telegram: tuple[httpx.Client, StandIn],
) -> None:
    short = tell_telegram(telegram, forwarded(1, text="Parcel waiting, call us"))
    assert short.startswith(headline("Parcel waiting, call us", "en"))
    command = tell_telegram(telegram, forwarded(2, text="/help"))
    assert "/unsubscribe NUMBER" not in command
    # Only numbers, forwarded or not, are tracked as ever.
    assert tell_telegram(telegram, forwarded(3, text=NUMBER)).startswith(NUMBER)


def test_telegram_reads_forwarding_and_captions() -> None:
    body = forwarded(5, caption="see this", photo=[])
    read = parse_update(body)
    assert read.forwarded
    assert read.text == "see this"
    del body["message"]["forward_origin"]
    body["message"]["forward_from"] = {"id": 42, "is_bot": False, "first_name": "X"}
    assert parse_update(body).forwarded
    assert not parse_update(update(6, NUMBER)).forwarded


@pytest.mark.parametrize("text", [GENUINE_EN, GENUINE_ZH])
def test_a_genuine_notice_gets_no_red_flags_and_the_tracking(
    wechat: httpx.Client, telegram: tuple[httpx.Client, StandIn], load: Loader, text: str
) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE))
    assert verdict_of(text).verdict is scamcheck.Verdict.NO_RED_FLAGS
    lang: Lang = "zh" if text is GENUINE_ZH else "en"
    replies: list[tuple[Lang, str]] = [
        ("zh", ask_wechat(wechat, text, 1)),  # WeChat's language when no other is asked
        (lang, tell_telegram(telegram, update(1, text, lang=lang))),
    ]
    for said, reply in replies:
        assert reply.startswith(headline(text, said))
        tracking = reply.split("\n\n")[-1]
        assert tracking.startswith(NUMBER)
        assert ("已妥投" if said == "zh" else "Delivered") in tracking
        assert tracking.endswith(f"https://track.example/track/{NUMBER}")


def test_numbers_alone_are_tracked_as_ever(wechat: httpx.Client, load: Loader) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE))
    reply = ask_wechat(wechat, NUMBER, 1)
    assert reply.startswith(NUMBER)
    assert "已妥投" in reply
    assert "96110" not in reply
    assert ask_wechat(wechat, f"{NUMBER}\nRR473124829GB", 2).startswith(NUMBER)


def test_the_wechat_reply_stays_within_its_limit_with_the_verdict_first(
    wechat: httpx.Client,
) -> None:
    numbers = [f"EA0000000{n}CN" for n in ("14", "28", "31", "45", "59", "62", "76", "80")]
    long_scam = SCAM_ZH + "单号：" + "，".join(numbers) + "。" + "请尽快处理。" * 50
    reply = ask_wechat(wechat, long_scam, 1)
    assert len(reply.encode()) <= MAX_TEXT_BYTES
    assert reply.startswith(headline(long_scam, "zh"))
    assert "96110" in reply  # the advice comes before the numbers, which may be cut


# --- the rules, through the conversation -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (NUMBER, Reading.PLAIN),
        ("ee 123 456 785 cn, RR473124829GB", Reading.PLAIN),
        ("EE.123.456.785.CN", Reading.PLAIN),
        ("EE123456785 is late", Reading.PLAIN),
        ("hello", Reading.PLAIN),
        ("你好", Reading.PLAIN),
        (f"where is {NUMBER} please", Reading.SHORT),
        (f"我的邮件 {NUMBER} 到哪了", Reading.SHORT),
        ("hello how are you", Reading.SHORT),
        ("Hi, I posted EE123456785CN to my mother last week, where is it now?", Reading.SHORT),
        ("我上周寄了一个包裹给我妈妈，现在到哪里了？", Reading.SHORT),
        ("Your parcel is waiting. A small delivery charge is still due.", Reading.MESSAGE),
        ("您的包裹被海关扣留，需要补缴税款", Reading.MESSAGE),
        ("我司通知：您的快递里查出违禁品，已被海关扣押", Reading.MESSAGE),
        ("We missed you. New slot: [link]", Reading.MESSAGE),
        ("改约派送：【链接】", Reading.MESSAGE),
        ("see usps-redelivery.com", Reading.MESSAGE),
        (f"{NUMBER} https://t.co/x", Reading.MESSAGE),
    ],
)
def test_which_texts_are_read_as_messages(text: str, expected: Reading) -> None:
    assert reading(text) is expected


@pytest.mark.parametrize(
    ("text", "forwarded_", "expected"),
    [("hello", True, Reading.MESSAGE), (NUMBER, True, Reading.PLAIN), ("", True, Reading.PLAIN)],
)
def test_a_forwarded_text_is_a_message_unless_only_numbers(
    text: str, forwarded_: bool, expected: Reading
) -> None:
    assert reading(text, forwarded=forwarded_) is expected


class Chat:
    """The conversation of one Telegram chat, on a real database, tracker and limiter."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.bot = conversation.Bot(db, Tracker(db, settings), settings, Limiter())

    def __call__(self, text: str, lang: str = "en") -> str:
        reply = conversation.answer(self.bot, text, channel="telegram", user="1111", lang=lang)
        assert reply is not None
        return reply


@pytest.fixture
def chat(db: Database, settings: Settings) -> Chat:
    return Chat(db, settings.model_copy(update={"public_url": "https://track.example"}))


def test_a_short_question_is_answered_as_its_numbers(chat: Chat, load: Loader) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE))
    assert chat(f"where is {NUMBER} please") == chat(NUMBER)
    # A new item, not yet on record, is no sign of a scam in a question about it.
    assert chat("where is RR473124829GB please") == chat("RR473124829GB")


@pytest.mark.parametrize("text", ["hello", "hello how are you", "my number is +86 138 0013"])
def test_a_text_without_numbers_or_signs_gets_the_short_help(chat: Chat, text: str) -> None:
    assert chat(text) == chat("hello")


def test_a_short_text_with_a_sign_of_a_scam_gets_the_verdict(chat: Chat) -> None:
    text = "urgent: call me at +86 138 0013"  # a hurried call-back to a number of its own
    assert verdict_of(text).verdict is not scamcheck.Verdict.NO_RED_FLAGS
    assert chat(text).startswith(headline(text, "en"))


def test_a_pasted_message_without_numbers_is_still_checked(chat: Chat) -> None:
    text = "We missed you today. Choose a new delivery slot: [link]"
    assert chat(text).startswith(headline(text, "en"))


@pytest.mark.parametrize(
    "text",
    [
        "Track your parcel at https://usps-track.com now",
        "订阅服务异常，请点击 http://ems-cn.top 处理",
    ],
)
def test_a_pasted_message_that_starts_like_a_command_is_checked(chat: Chat, text: str) -> None:
    lang: Lang = "zh" if text.startswith("订阅") else "en"
    assert chat(text, lang).startswith(headline(text, lang))
    assert chat("track EE123456785CN").startswith(NUMBER)  # a command stays one


def test_reasons_are_cut_for_a_chat_weighing_ones_first(chat: Chat) -> None:
    scam = SCAM_EN + " Confirm your address and card number, ref EE123456789CN."
    reasons = verdict_of(scam).reasons
    reply = chat(scam)
    shown = [r for r in reasons if r.message("en") in reply]
    assert len(shown) == min(len(reasons), MAX_REASONS)
    assert [r.weight > 0 for r in shown] == sorted((r.weight > 0 for r in shown), reverse=True)
    if len(reasons) > MAX_REASONS:
        assert "https://track.example/check" in reply


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_check_costs_one_per_number_and_at_least_one(
    db: Database, settings: Settings, lang: str
) -> None:
    chat = Chat(db, settings.model_copy(update={"rate_limit_chat": "2/hour"}))
    assert REFUSED[lang] not in chat("hello", lang)  # help is free
    assert REFUSED[lang] not in chat(SCAM_EN, lang)  # no number: one
    # One number, checked and tracked, is looked up (and paid for) once: two in all.
    assert REFUSED[lang] not in chat(GENUINE_EN, lang)
    assert chat(GENUINE_EN, lang).startswith(REFUSED[lang])
    assert chat(SCAM_EN, lang).startswith(REFUSED[lang])


def test_the_channels_limit_is_charged_too(db: Database, settings: Settings) -> None:
    chat = Chat(db, settings.model_copy(update={"rate_limit_channel": "2/hour"}))
    two = f"{GENUINE_EN} and RR473124829GB"
    assert "Too many lookups" not in chat(two)
    assert chat(SCAM_EN).startswith("Too many lookups")


def test_a_number_is_looked_up_once_for_the_check_and_the_tracking(
    db: Database, settings: Settings, load: Loader
) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE))
    tracker = Tracker(db, settings)
    lookup = conversation._LookUpOnce(tracker, lambda wanted: wanted)
    first = lookup([NUMBER, "RR473124829GB"])
    again = lookup([NUMBER])
    assert again[0] is first[0]
    assert [r.number.number for r in first] == [NUMBER, "RR473124829GB"]
