"""Stand-ins for the chat platforms, served on loopback by the tests, and what the platforms send.

Telegram: a Bot API that records what the bot sends and serves queued updates. WeChat: the
signing of a callback URL, a text message, a menu click and the reading of a passive reply; and
the API endpoints of the customer-service messages and of the custom menu.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, Response

# --- Telegram ----------------------------------------------------------------------------------

BOT_TOKEN = "7012345678:AAH-test-bot-token"
BOT_USERNAME = "EmsTrackBot"
BOT_SECRET = "s3cret_webhook-token"
BOT_HEADERS = {"X-Telegram-Bot-Api-Secret-Token": BOT_SECRET}


class StandIn:
    """A Bot API that records sendMessage, serves queued updates to getUpdates, and knows its
    bot's name (getMe)."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.webhook_deleted = False
        self.updates: list[dict[str, Any]] = []
        #: The `offset` of every getUpdates, in order: a poller asks for the next batch only
        #: when it has handled the one before.
        self.offsets: list[int | None] = []
        self._lock = threading.Lock()
        self.app = FastAPI()
        self.app.post("/bot{token}/{method}")(self._call)

    async def _call(self, token: str, method: str, request: Request) -> dict[str, Any]:
        payload: dict[str, Any] = await request.json()
        assert token == BOT_TOKEN
        if method == "sendMessage":
            self.sent.append(payload)
            return {"ok": True, "result": {"message_id": len(self.sent)}}
        if method == "getMe":
            return {
                "ok": True,
                "result": {"id": 7012345678, "is_bot": True, "username": BOT_USERNAME},
            }
        if method == "deleteWebhook":
            self.webhook_deleted = True
            return {"ok": True, "result": True}
        if method == "getUpdates":
            offset = payload.get("offset")
            with self._lock:
                self.offsets.append(offset)
            return {
                "ok": True,
                "result": [u for u in self.updates if u["update_id"] >= (offset or 0)],
            }
        return {"ok": False, "error_code": 404, "description": "Not Found"}


def update(update_id: int, text: str, chat_id: int = 1111, lang: str = "en") -> dict[str, Any]:
    """A Telegram update of a text message from a private chat."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "from": {"id": chat_id, "is_bot": False, "first_name": "Ana", "language_code": lang},
            "chat": {"id": chat_id, "type": "private"},
            "date": 1714037059,
            "text": text,
        },
    }


def wait_until(condition: Callable[[], bool], seconds: float = 10) -> None:
    """Wait for `condition` to hold, failing after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


# --- WeChat ------------------------------------------------------------------------------------

WECHAT_TOKEN = "AAAAA"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP_ID = "wx1234567890abcdef"
APP_SECRET = "s3cr3t-0123456789abcdef0123456789"
TIMESTAMP, NONCE = "1714037059", "486452656"


def signed(timestamp: str = TIMESTAMP, nonce: str = NONCE) -> dict[str, str]:
    """The query of a callback URL signed with `WECHAT_TOKEN` (plaintext mode)."""
    parts = "".join(sorted([WECHAT_TOKEN, timestamp, nonce]))
    signature = hashlib.sha1(parts.encode()).hexdigest()
    return {"signature": signature, "timestamp": timestamp, "nonce": nonce}


def text_message(content: str, msg_id: str = "1234567890123456", user: str = "oUSER") -> bytes:
    """The body of a callback carrying a user's text message."""
    return (
        "<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName>"
        f"<FromUserName><![CDATA[{user}]]></FromUserName>"
        "<CreateTime>1714037059</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    ).encode()


def click_event(key: str, user: str = "oUSER", at: int = 1714037200) -> bytes:
    """The body of the event WeChat sends when `user` taps the menu button with `key`."""
    return (
        "<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName>"
        f"<FromUserName><![CDATA[{user}]]></FromUserName><CreateTime>{at}</CreateTime>"
        "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[CLICK]]></Event>"
        f"<EventKey><![CDATA[{key}]]></EventKey></xml>"
    ).encode()


def reply_content(body: bytes, to_user: str = "oUSER") -> str:
    """The text of a passive reply to `to_user`."""
    root = ET.fromstring(body)
    assert root.findtext("MsgType") == "text"
    assert root.findtext("ToUserName") == to_user
    assert root.findtext("FromUserName") == "gh_0123456789ab"
    return root.findtext("Content") or ""


@dataclass
class FakeWeChat:
    """The endpoints we use, with the token rules of docs/standards/channels.md §1.4: a
    new token voids the old."""

    expires_in: int = 7200
    tokens_issued: list[str] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    raw_bodies: list[bytes] = field(default_factory=list)
    #: What the next sends answer instead of delivering: an errcode, "500", or "slow".
    fail_next: list[str] = field(default_factory=list)
    #: The account's custom menu as WeChat keeps it (None: no menu), and the menu calls made.
    menu: dict[str, Any] | None = None
    menu_calls: list[str] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/cgi-bin/token")
        def token(grant_type: str, appid: str, secret: str) -> dict[str, Any]:
            if grant_type != "client_credential" or appid != APP_ID:
                return {"errcode": 40013, "errmsg": "invalid appid"}
            if secret != APP_SECRET:
                return {"errcode": 40125, "errmsg": "invalid appsecret"}
            self.tokens_issued.append(f"TOKEN-{len(self.tokens_issued) + 1:04d}-" + "x" * 100)
            return {"access_token": self.tokens_issued[-1], "expires_in": self.expires_in}

        @app.post("/cgi-bin/message/custom/send")
        async def send(access_token: str, request: Request) -> Response:
            if self.fail_next:
                failure = self.fail_next.pop(0)
                if failure == "500":
                    return Response("upstream trouble", status_code=500)
                if failure == "slow":
                    await asyncio.sleep(1)
                elif failure == "40001":
                    # As when another process fetched a token: ours is void from now on.
                    self.tokens_issued.append("VOIDED")
                else:
                    return _json({"errcode": int(failure), "errmsg": f"error {failure}"})
            if not self.tokens_issued or access_token != self.tokens_issued[-1]:
                return _json({"errcode": 40001, "errmsg": "invalid credential"})
            body = await request.body()
            self.raw_bodies.append(body)
            self.sent.append(json.loads(body))
            return _json({"errcode": 0, "errmsg": "ok"})

        @app.post("/cgi-bin/menu/create")
        async def menu_create(access_token: str, request: Request) -> Response:
            refused = self._refused(access_token, "create")
            if refused is not None:
                return refused
            try:
                wanted = json.loads(await request.body())
            except ValueError:
                return _json({"errcode": 47001, "errmsg": "data format error"})
            errcode = _menu_errcode(wanted)
            if errcode:
                return _json({"errcode": errcode, "errmsg": f"invalid menu ({errcode})"})
            self.menu = wanted
            return _json({"errcode": 0, "errmsg": "ok"})

        @app.get("/cgi-bin/menu/get")
        def menu_get(access_token: str) -> Response:
            refused = self._refused(access_token, "get")
            if refused is not None:
                return refused
            if self.menu is None:
                return _json({"errcode": 46003, "errmsg": "menu no exist"})
            # WeChat answers each button with an empty sub_button list.
            buttons = [
                {
                    **entry,
                    "sub_button": [{**b, "sub_button": []} for b in entry.get("sub_button", [])],
                }
                for entry in self.menu["button"]
            ]
            return _json({"menu": {"button": buttons}})

        @app.get("/cgi-bin/menu/delete")
        def menu_delete(access_token: str) -> Response:
            refused = self._refused(access_token, "delete")
            if refused is not None:
                return refused
            self.menu = None
            return _json({"errcode": 0, "errmsg": "ok"})

        return app

    def _refused(self, access_token: str, call: str) -> Response | None:
        """The answer to a menu call WeChat would refuse (a queued failure, a stale token)."""
        self.menu_calls.append(call)
        if self.fail_next:
            failure = self.fail_next.pop(0)
            if failure == "40001":
                self.tokens_issued.append("VOIDED")
            else:
                return _json({"errcode": int(failure), "errmsg": f"error {failure}"})
        if not self.tokens_issued or access_token != self.tokens_issued[-1]:
            return _json({"errcode": 40001, "errmsg": "invalid credential"})
        return None


def _menu_errcode(menu: Any) -> int:
    """WeChat's errcode for the first rule `menu` breaks (its published limits), or 0."""
    entries = menu.get("button") if isinstance(menu, dict) else None
    if not isinstance(entries, list) or not 1 <= len(entries) <= 3:
        return 40016  # invalid button size
    for entry in entries:
        if len(str(entry.get("name", "")).encode()) > 16:
            return 40018  # invalid button name size
        for button in entry.get("sub_button") or []:
            if len(str(button.get("name", "")).encode()) > 60:
                return 40018
            if button.get("type") not in {"click", "view", "miniprogram"}:
                return 40017  # invalid button type
            if len(str(button.get("key", "")).encode()) > 128:
                return 40019  # invalid button key size
    return 0


def _json(payload: dict[str, Any]) -> Response:
    # WeChat answers errors with HTTP 200 and an errcode in the JSON.
    return Response(json.dumps(payload), media_type="application/json")
