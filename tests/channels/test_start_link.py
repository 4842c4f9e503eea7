"""`/start NUMBER`: what the item page's "Follow in Telegram" link (`t.me/BOT?start=NUMBER`)
sends when the person presses Start. It subscribes the chat to the number and says where the
item is; without notifications set up it only says where the item is; `/start` alone (or with
anything but a number) is the help, as before."""

from __future__ import annotations

import pytest
from factories import Loader, history
from sqlalchemy import select

from emstrack.channels import conversation
from emstrack.config import Settings
from emstrack.lookup import Tracker
from emstrack.store.database import Database
from emstrack.store.schema import subscriptions
from emstrack.web.ratelimit import Limiter

NUMBER = "EE123456785CN"
SECRET = "test-secret-key-that-is-long-enough-for-tokens-0123456789"
# Accepted in Germany's exchange office, not delivered yet: an item worth following.
IN_TRANSIT = (
    ("EMA", "2026-11-02T09:12", "CNBJSD", "CN"),
    ("EMD", "2026-11-05T06:30", "DEFRAA", "DE"),
)


def _answer(db: Database, settings: Settings, text: str, user: str = "4242") -> str:
    bot = conversation.Bot(db, Tracker(db, settings), settings, Limiter())
    reply = conversation.answer(bot, text, channel="telegram", user=user, lang="en")
    assert reply is not None
    return reply


def _followed(db: Database, user: str) -> list[str]:
    with db.read() as conn:
        rows = conn.execute(
            select(subscriptions.c.number).where(
                subscriptions.c.channel == "telegram",
                subscriptions.c.target == user,
                subscriptions.c.state != "ended",
            )
        )
        return sorted(r.number for r in rows)


@pytest.fixture
def with_key(settings: Settings) -> Settings:
    return settings.model_copy(update={"secret_key": SECRET, "public_url": "https://track.example"})


@pytest.fixture
def moving(load: Loader) -> None:
    load(*history(NUMBER, *IN_TRANSIT))


@pytest.mark.usefixtures("moving")
def test_start_with_a_number_subscribes_this_chat_and_says_where_the_item_is(
    db: Database, with_key: Settings
) -> None:
    reply = _answer(db, with_key, f"/start {NUMBER}")
    assert "Subscribed: you will get a message when EE123456785CN changes status." in reply
    assert "https://track.example/track/EE123456785CN" in reply
    assert _followed(db, "4242") == [NUMBER]
    # Pressing Start again (the link followed twice) subscribes once.
    assert "already subscribed" in _answer(db, with_key, f"/start {NUMBER}")
    assert _followed(db, "4242") == [NUMBER]


def test_start_with_a_number_not_scanned_yet_subscribes_too(
    db: Database, with_key: Settings
) -> None:
    reply = _answer(db, with_key, f"/start {NUMBER}", user="77")
    assert "Subscribed" in reply
    assert "no scan yet" in reply
    assert _followed(db, "77") == [NUMBER]


@pytest.mark.usefixtures("moving")
def test_start_without_notifications_set_up_only_tracks(db: Database, settings: Settings) -> None:
    reply = _answer(db, settings, f"/start {NUMBER}")
    assert reply.startswith(NUMBER)
    assert "not set up" not in reply
    assert _followed(db, "4242") == []


def test_start_with_a_mistyped_number_explains_and_subscribes_nothing(
    db: Database, with_key: Settings
) -> None:
    reply = _answer(db, with_key, "/start EE123456789CN")
    assert "Did you mean EE123456785CN" in reply
    assert _followed(db, "4242") == []


@pytest.mark.parametrize("text", ["/start", "/start hello", "/start ref_campaign-1"])
def test_start_without_a_number_is_the_help(db: Database, with_key: Settings, text: str) -> None:
    reply = _answer(db, with_key, text)
    assert "/subscribe NUMBER" in reply
    assert _followed(db, "4242") == []
