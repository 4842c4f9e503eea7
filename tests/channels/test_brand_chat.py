"""The bots under a second brand (Northwind Post, `tests/brands.py`): the answer to a pasted
message names the brand's hotline and nothing of the default brand (China Post EMS)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from brands import DEFAULT_TRACES, HOTLINE, write_brand
from factories import Loader, history
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

from emstrack.config import Settings
from emstrack.store.database import Database
from emstrack.web.app import create_app

HELD = "CP123456785GB"
HELD_BY_CUSTOMS = (
    ("EMA", "2026-11-02T09:12", "GBLONA", "GB"),
    ("EMC", "2026-11-03T23:05", "GBLONA", "GB"),
    ("EMD", "2026-11-05T06:30", "DEFRAA", "DE"),
    ("EDB", "2026-11-05T09:00", "DEFRAA", "DE"),
    ("EME", "2026-11-05T15:00", "DEFRAA", "DE"),
)
SCAM = {
    "en": f"Northwind: your parcel {HELD} is held by customs. Pay the duty within 24 hours at "
    "https://nw-customs-fee.top or it will be returned.",
    "zh": f"【北风邮政】您的包裹 {HELD} 被海关扣留，请在24小时内点击 https://nw-customs-fee.top "
    "补缴关税，否则退回。",
}


@pytest.fixture
def branded(settings: Settings, tmp_path: Path, load: Loader) -> Settings:
    load(*history(HELD, *HELD_BY_CUSTOMS))
    return settings.model_copy(
        update={"brand_file": str(write_brand(tmp_path)), "public_url": "https://track.example"}
    )


@pytest.fixture
def telegram(branded: Settings, engine: Engine) -> Iterator[tuple[httpx.Client, StandIn]]:
    fake = StandIn()
    with serve(fake.app) as api:
        configured = branded.model_copy(
            update={
                "telegram_bot_token": BOT_TOKEN,
                "telegram_secret": BOT_SECRET,
                "telegram_api_base": str(api.base_url),
            }
        )
        with serve(create_app(configured, Database(engine))) as http:
            yield http, fake


@pytest.fixture
def wechat(branded: Settings, engine: Engine) -> Iterator[httpx.Client]:
    configured = branded.model_copy(
        update={
            "wechat_token": WECHAT_TOKEN,
            "wechat_aes_key": AES_KEY,
            "wechat_app_id": APP_ID,
            "wechat_max_clock_skew_seconds": 0,
        }
    )
    with serve(create_app(configured, Database(engine))) as http:
        yield http


def assert_branded(reply: str) -> None:
    assert HOTLINE in reply
    assert [trace for trace in DEFAULT_TRACES if trace in reply] == []


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_telegram_names_the_brands_hotline(
    telegram: tuple[httpx.Client, StandIn], lang: str
) -> None:
    http, fake = telegram
    body = update(1, SCAM[lang], lang=lang)
    assert http.post("/channels/telegram", json=body, headers=BOT_HEADERS).status_code == 200
    reply = "\n".join(sent["text"] for sent in fake.sent)
    assert_branded(reply)
    advice = {
        "en": f"When in doubt, call Northwind customer service {HOTLINE}.",
        "zh": f"如有疑问，请拨打 北风客服热线 {HOTLINE}。",
    }
    assert f"- {advice[lang]}" in reply


def test_wechat_names_the_brands_hotline(wechat: httpx.Client) -> None:
    response = wechat.post(
        "/channels/wechat", params=signed(nonce="1"), content=text_message(SCAM["zh"], msg_id="1")
    )
    assert response.status_code == 200
    reply = reply_content(response.content)
    assert_branded(reply)
    assert f"如有疑问，请拨打 北风客服热线 {HOTLINE}。" in reply
