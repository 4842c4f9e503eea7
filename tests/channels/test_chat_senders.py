"""Status notices to chat users, through the worker as `emstrack worker` composes it: the
WeChat and Telegram senders against local stand-ins of their APIs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from factories import Loader, history
from fastapi import FastAPI, Request
from webclient import serve

from emstrack.cli.notify import senders
from emstrack.config import Settings
from emstrack.notify import subscriptions
from emstrack.notify.senders import Sender
from emstrack.notify.worker import Summary, Worker
from emstrack.store.database import Database
from emstrack.store.outbox import notices

NUMBER = "EE123456785CN"
PUBLIC = "https://track.example.org"


def ago(hours: float) -> str:
    """An event time `hours` before now, with its offset, as a source would write it."""
    return (datetime.now(UTC) - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M+00:00")


def scans(num: str, *steps: tuple[str, float]) -> list[dict[str, str]]:
    """Events for `num` from (code, hours ago) steps, all at one Berlin office."""
    return history(num, *((code, ago(hours), "DEBERB", "DE") for code, hours in steps))


@pytest.fixture
def notify_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "secret_key": "test-secret-key-0123456789",
            "public_url": PUBLIC,
            "notify_quiet_hours": "",
        }
    )


MakeWorker = Callable[[Database, Settings], Worker]


@pytest.fixture
def worker() -> Iterator[MakeWorker]:
    """Makes workers with every channel's sender, as the CLI does; senders closed at the end."""
    made: list[Sender] = []

    def make(db: Database, s: Settings) -> Worker:
        channels = senders(s)
        made.extend(channels.values())
        return Worker(db, s, senders=channels, rand=lambda: 0.5)

    yield make
    for sender in made:
        sender.close()


def drain(w: Worker) -> Summary:
    """Run rounds until one finds nothing due; how many were sent and how many died."""
    sent = dead = 0
    while (done := w.run_once()).total:
        sent, dead = sent + done.sent, dead + done.dead
    return Summary(sent=sent, dead=dead)


def test_chat_notices_reach_the_telegram_and_wechat_apis(
    db: Database, notify_settings: Settings, load: Loader, worker: MakeWorker
) -> None:
    sent: list[tuple[str, dict[str, Any]]] = []
    app = FastAPI()

    @app.post("/bot{token}/sendMessage")
    async def telegram(token: str, request: Request) -> dict[str, Any]:
        sent.append(("telegram", await request.json()))
        return {"ok": True, "result": {"message_id": len(sent)}}

    @app.get("/cgi-bin/token")
    def wechat_token(appid: str, secret: str) -> dict[str, Any]:
        return {"access_token": "token-1", "expires_in": 7200}

    @app.post("/cgi-bin/message/custom/send")
    async def wechat(access_token: str, request: Request) -> dict[str, Any]:
        sent.append(("wechat", await request.json()))
        return {"errcode": 0, "errmsg": "ok"}

    with serve(app) as http:
        base = str(http.base_url).rstrip("/")
        s = notify_settings.model_copy(
            update={
                "telegram_bot_token": "123:abc",
                "telegram_api_base": base,
                "wechat_app_id": "wx1234567890abcdef",
                "wechat_app_secret": "app-secret",
                "wechat_api_base": base,
            }
        )
        subscriptions.subscribe(db, s, number=NUMBER, channel="telegram", target="4242")
        subscriptions.subscribe(db, s, number=NUMBER, channel="wechat", target="oUser_1", lang="zh")
        load(*scans(NUMBER, ("EMI", 1)))
        w = worker(db, s)
        assert drain(w) == Summary(sent=2)
        w.close()

    by_channel = dict(sent)
    tg, wx = by_channel["telegram"], by_channel["wechat"]
    assert tg["chat_id"] == 4242
    assert tg["text"].startswith(f"{NUMBER}: Delivered — DEBERB, DE, ")
    assert f"{PUBLIC}/track/{NUMBER}" in tg["text"]
    assert f"unsubscribe {NUMBER}" in tg["text"]
    assert wx["touser"] == "oUser_1"
    assert wx["text"]["content"].startswith(f"{NUMBER}：已妥投")


def test_an_unconfigured_chat_channel_is_a_final_error(
    db: Database, notify_settings: Settings, load: Loader, worker: MakeWorker
) -> None:
    subscriptions.subscribe(db, notify_settings, number=NUMBER, channel="wechat", target="o1")
    load(*scans(NUMBER, ("EMA", 1)))
    assert drain(worker(db, notify_settings)) == Summary(dead=1)
    with db.read() as unit:
        [notice] = notices(unit)
    assert (notice.last_error or "").startswith("WeChat is not configured")
