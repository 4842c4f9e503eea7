"""The bots' conversation, as a chat user sees it: numbers, commands, languages, junk."""

from __future__ import annotations

import pytest
from factories import DELIVERED_TO_DE, Loader, history
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import select

from emstrack.channels import conversation
from emstrack.channels.conversation import Command, Reading, parse_command
from emstrack.config import Settings
from emstrack.lookup import Tracker
from emstrack.store.database import Database
from emstrack.store.schema import subscriptions
from emstrack.web.ratelimit import Limiter

NUMBER = "EE123456785CN"
SECRET = "test-secret-key-that-is-long-enough-for-tokens-0123456789"


@pytest.fixture
def bot_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"secret_key": SECRET, "public_url": "https://track.example"})


class Bot:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.bot = conversation.Bot(db, Tracker(db, settings), settings, Limiter())

    def __call__(
        self,
        text: str,
        channel: str = "telegram",
        user: str = "1111",
        lang: str | None = None,
        bot_username: str | None = None,
    ) -> str:
        reply = conversation.answer(
            self.bot, text, channel=channel, user=user, lang=lang, bot_username=bot_username
        )
        assert reply is not None
        return reply

    def live(self, channel: str, target: str) -> list[str]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(subscriptions.c.number).where(
                    subscriptions.c.channel == channel,
                    subscriptions.c.target == target,
                    subscriptions.c.state != "ended",
                )
            )
            return sorted(r.number for r in rows)


@pytest.fixture
def bot(db: Database, bot_settings: Settings) -> Bot:
    return Bot(db, bot_settings)


@pytest.fixture
def delivered(load: Loader) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE))


@pytest.mark.usefixtures("delivered")
@pytest.mark.parametrize(
    ("text", "channel", "lang", "expected"),
    [
        (NUMBER, "telegram", None, ["EE123456785CN", "Delivered", "2026-11-07 11:45", "Germany"]),
        ("ee 123 456 785 cn", "telegram", None, ["EE123456785CN", "Delivered"]),
        ("EE-123.456.785-CN", "telegram", "en-GB", ["EE123456785CN", "Delivered"]),
        ("where is EE123456785CN please", "telegram", None, ["EE123456785CN", "Delivered"]),
        ("/track EE123456785CN", "telegram", None, ["Delivered"]),
        (NUMBER, "wechat", None, ["EE123456785CN", "已妥投", "德国"]),
        ("我的邮件 EE 123 456 785 CN 到哪了", "telegram", None, ["已妥投"]),
        (NUMBER, "telegram", "zh-hans", ["已妥投"]),
        (NUMBER, "wechat", "en", ["Delivered"]),
    ],
)
def test_a_number_on_record_gets_its_status_event_and_link(
    bot: Bot, text: str, channel: str, lang: str | None, expected: list[str]
) -> None:
    reply = bot(text, channel=channel, lang=lang)
    for part in [*expected, "https://track.example/track/EE123456785CN"]:
        assert part in reply


@pytest.mark.usefixtures("delivered")
def test_the_reply_leads_with_the_headline_of_the_api_and_the_page(bot: Bot) -> None:
    reply = bot(NUMBER)
    assert reply.splitlines()[1] == "Delivered on 2026-11-07 11:45 (UTC+1) at DEBERB, Germany."


@pytest.mark.parametrize(
    ("channel", "expected"),
    [
        ("telegram", "Valid, no scan yet; first scans often appear 24–48 h after posting."),
        ("wechat", "号码有效，暂无扫描记录"),
    ],
)
def test_a_valid_number_without_scans_says_to_wait(bot: Bot, channel: str, expected: str) -> None:
    reply = bot("EE123456785CN", channel=channel)
    assert expected in reply
    assert "https://track.example/track/EE123456785CN" in reply


@pytest.mark.parametrize(
    ("text", "channel", "expected"),
    [
        ("EE123456789CN", "telegram", ["not a valid", "check digit", "Did you mean EE123456785CN"]),
        ("EE123456789CN", "wechat", ["邮件号无效", "校验位应为 5", "EE123456785CN"]),
        ("EE12345678CN", "telegram", ["not a valid", "Did you mean EE123456785CN"]),
        ("EE123456785", "telegram", ["country code", "Did you mean EE123456785CN"]),
    ],
)
def test_an_invalid_number_says_what_is_wrong_and_what_was_meant(
    bot: Bot, text: str, channel: str, expected: list[str]
) -> None:
    reply = bot(text, channel=channel)
    for part in expected:
        assert part in reply


@pytest.mark.usefixtures("delivered")
def test_several_numbers_are_answered_in_order(bot: Bot) -> None:
    reply = bot("EE123456785CN, RR123456785CN\nEE123456789CN")
    blocks = reply.split("\n\n")
    assert len(blocks) == 3
    assert "Delivered" in blocks[0]
    assert blocks[1].startswith("RR123456785CN")
    assert "no scan yet" in blocks[1]
    assert "Did you mean" in blocks[2]


def test_more_than_ten_numbers_are_cut_and_said_so(bot: Bot) -> None:
    serials = [f"{n:08d}" for n in range(10000000, 10000012)]
    numbers = [f"EE{s}{_check(s)}CN" for s in serials]
    reply = bot("\n".join(numbers))
    assert "first 10" in reply
    assert numbers[9] in reply
    assert numbers[10] not in reply


def _check(serial: str) -> int:
    total = sum(int(d) * w for d, w in zip(serial, (8, 6, 4, 2, 3, 5, 9, 7), strict=True))
    c = 11 - total % 11
    return 0 if c == 10 else 5 if c == 11 else c


@pytest.mark.parametrize(
    ("text", "channel", "expected"),
    [
        ("/subscribe EE123456785CN", "telegram", "Subscribed"),
        ("subscribe ee123456785cn", "telegram", "Subscribed"),
        ("订阅 EE123456785CN", "wechat", "已订阅"),
        ("订阅EE123456785CN", "wechat", "已订阅"),
    ],
)
def test_subscribe_creates_a_subscription_for_this_chat(
    bot: Bot, text: str, channel: str, expected: str
) -> None:
    reply = bot(text, channel=channel, user="1111")
    assert expected in reply
    assert bot.live(channel, "1111") == ["EE123456785CN"]
    again = bot(text, channel=channel, user="1111")
    assert "already" in again or "已订阅" in again
    assert bot.live(channel, "1111") == ["EE123456785CN"]


def test_subscribe_to_an_invalid_number_explains_and_creates_nothing(bot: Bot) -> None:
    reply = bot("/subscribe EE123456789CN")
    assert "Did you mean EE123456785CN" in reply
    assert bot.live("telegram", "1111") == []


def test_subscribe_without_a_number_says_how(bot: Bot) -> None:
    assert "/subscribe EE123456785CN" in bot("/subscribe")
    assert "订阅 EE123456785CN" in bot("订阅", channel="wechat")


def test_subscribe_without_a_secret_key_says_notifications_are_off(
    db: Database, settings: Settings
) -> None:
    reply = Bot(db, settings)("/subscribe EE123456785CN")
    assert "not set up" in reply


def test_unsubscribe_one_then_all(bot: Bot) -> None:
    bot("/subscribe EE123456785CN RR123456785CN")
    assert bot.live("telegram", "1111") == ["EE123456785CN", "RR123456785CN"]
    assert "Unsubscribed from RR123456785CN" in bot("/unsubscribe rr 123 456 785 cn")
    assert bot.live("telegram", "1111") == ["EE123456785CN"]
    assert "not subscribed" in bot("unsubscribe RR123456785CN")
    assert "1 item" in bot("/unsubscribe")
    assert bot.live("telegram", "1111") == []
    assert "no subscriptions" in bot("/unsubscribe")


def test_unsubscribe_touches_only_this_user(bot: Bot) -> None:
    bot("订阅 EE123456785CN", channel="wechat", user="oUSER1")
    bot("订阅 EE123456785CN", channel="wechat", user="oUSER2")
    assert "已退订" in bot("退订", channel="wechat", user="oUSER1")
    assert bot.live("wechat", "oUSER1") == []
    assert bot.live("wechat", "oUSER2") == ["EE123456785CN"]


@pytest.mark.parametrize(
    ("text", "channel", "expected"),
    [
        ("/start", "telegram", "/subscribe NUMBER"),
        ("/help", "telegram", "/unsubscribe NUMBER"),
        ("help", "telegram", "up to 10 per message"),
        ("帮助", "wechat", "订阅 邮件号"),
    ],
)
def test_help(bot: Bot, text: str, channel: str, expected: str) -> None:
    assert expected in bot(text, channel=channel)


@pytest.mark.parametrize(
    ("text", "channel", "expected"),
    [
        ("hello", "telegram", "Send a tracking number such as EE123456785CN"),
        ("/frobnicate EE123456785CN", "telegram", "Send a tracking number"),
        ("你好", "telegram", "请发送邮件号"),
        ("hello", "wechat", "请发送邮件号"),
        ("x" * 5000, "telegram", "Send a tracking number"),
        ("my number is +86 138 0013", "telegram", "Send a tracking number"),
    ],
)
def test_anything_else_gets_a_short_help(bot: Bot, text: str, channel: str, expected: str) -> None:
    reply = bot(text, channel=channel)
    assert expected in reply
    assert len(reply) < 120


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("EE123456785CN", ["EE123456785CN"]),
        ("ＥＥ１２３４５６７８５ＣＮ", ["EE123456785CN"]),
        ("EE 123 456 785 CN and EE123456785CN", ["EE123456785CN"]),
        ("ee123456785cn；rr123456785cn", ["EE123456785CN", "RR123456785CN"]),
        ("EE123456785 is late", ["EE123456785"]),
        ("parcel 1234567890123 today", ["1234567890123"]),
        ("no numbers here", []),
        ("order 12345 from 2026", []),
    ],
)
def test_find_numbers(text: str, numbers: list[str]) -> None:
    assert conversation.find_numbers(text) == numbers


@given(text=st.text(max_size=300))
@hsettings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_any_text_gets_a_short_answer_and_never_raises(bot: Bot, text: str) -> None:
    reply = bot(text, channel="wechat", user="oFUZZ")
    assert reply.strip()
    # At most a check and ten compact blocks; a short text without digits gets the help.
    assert len(reply) <= 4000
    if not any(c.isdigit() for c in text) and conversation.reading(text) is Reading.PLAIN:
        assert len(reply) <= 400


# --- commands ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "bot", "command"),
    [
        ("/track EE123456785CN", None, Command("track", "EE123456785CN")),
        ("/TRACK ee123456785cn", None, Command("track", "ee123456785cn")),
        ("  /track   EE123456785CN  ", None, Command("track", "EE123456785CN")),
        (
            "/track\nEE123456785CN\nRR987654321DE",
            None,
            Command("track", "EE123456785CN\nRR987654321DE"),
        ),
        ("/track", None, Command("track", "")),
        ("/track@EmsTrackBot EE123456785CN", "EmsTrackBot", Command("track", "EE123456785CN")),
        ("/track@emstrackbot EE123456785CN", "@EmsTrackBot", Command("track", "EE123456785CN")),
        ("/track@OtherBot EE123456785CN", "EmsTrackBot", Command(None, "")),
        ("/track@OtherBot EE123456785CN", None, Command("track", "EE123456785CN")),
        ("/subscribe EE123456785CN", None, Command("subscribe", "EE123456785CN")),
        ("/unsubscribe EE123456785CN", None, Command("unsubscribe", "EE123456785CN")),
        ("/start", None, Command("start", "")),
        ("/start EE123456785CN", None, Command("start", "EE123456785CN")),
        ("/help", None, Command("help", "")),
        ("EE123456785CN", None, Command(None, "EE123456785CN")),
        (" where is EE 123 456 785 CN? ", None, Command(None, "where is EE 123 456 785 CN?")),
        ("", None, Command(None, "")),
        ("/", None, Command(None, "/")),
        ("/ EE123456785CN", None, Command(None, "/ EE123456785CN")),
        ("/track-me", None, Command(None, "/track-me")),
        ("/快递 EE123456785CN", None, Command(None, "/快递 EE123456785CN")),
        ("see /track EE123456785CN", None, Command(None, "see /track EE123456785CN")),
    ],
)
def test_parse_command(text: str, bot: str | None, command: Command) -> None:
    assert parse_command(text, bot) == command


@pytest.mark.parametrize("addressee", ["EmsTrackBot", "emstrackbot", None])
def test_a_command_to_this_bot_is_answered(bot: Bot, addressee: str | None) -> None:
    command = f"/help@{addressee}" if addressee else "/help"
    assert "/subscribe NUMBER" in bot(command, bot_username="EmsTrackBot")


def test_a_command_to_another_bot_is_not_ours_to_answer(bot: Bot) -> None:
    text = "/track@OtherBot EE123456785CN"
    assert (
        conversation.answer(
            bot.bot, text, channel="telegram", user="1", lang=None, bot_username="EmsTrackBot"
        )
        is None
    )
    # Not knowing our own name, every address is taken as ours.
    assert "EE123456785CN" in bot(text)


@pytest.mark.usefixtures("delivered")
def test_list_names_the_items_this_chat_follows_and_where_each_is(bot: Bot) -> None:
    assert "You follow no items" in bot("/list")
    bot("/subscribe EE123456785CN RR123456785CN")
    listed = bot("/list").splitlines()
    assert listed[0] == "You follow 2 item(s):"
    assert listed[1].startswith("EE123456785CN: Delivered")
    assert listed[2] == "RR123456785CN: No scan yet"
    assert "/unsubscribe NUMBER: stop one" in listed[-1]
    assert "You follow no items" in bot("/list", user="2222")
    assert bot("我的订阅", channel="wechat").startswith("您还没有订阅邮件")
    assert "/list" in bot("/help")
