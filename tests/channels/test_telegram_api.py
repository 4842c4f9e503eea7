"""The Bot API client and the polling loop against a stand-in Bot API served by uvicorn on
loopback."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool
from webclient import serve_url

from emstrack.channels.telegram.client import DEFAULT_API_BASE, BotAPI
from emstrack.channels.telegram.polling import poll
from emstrack.channels.telegram.protocol import MAX_TEXT, TelegramError, Update

TOKEN = "7012345678:AAH-sEcReT_bot-token-do-not-leak"


def units(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts."""
    return len(text.encode("utf-16-le")) // 2


def message(update_id: int, text: str, chat_id: int = 1111) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id * 10,
            "from": {"id": chat_id, "is_bot": False, "first_name": "Ana"},
            "chat": {"id": chat_id, "type": "private"},
            "date": 1714037059,
            "text": text,
        },
    }


# --- the stand-in Bot API ----------------------------------------------------------------------


class FakeTelegram:
    """Records what the bot sends, serves queued updates, and answers scripted failures."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.webhook: dict[str, Any] | None = {"url": "https://old.example/hook"}
        self._updates: list[dict[str, Any]] = []
        self._script: dict[str, list[Response | None]] = {}
        self._changed = threading.Condition()
        self.app = FastAPI()
        self.app.post("/bot{token}/sendMessage")(self._send_message)
        self.app.post("/bot{token}/getUpdates")(self._get_updates)
        self.app.post("/bot{token}/setWebhook")(self._set_webhook)
        self.app.post("/bot{token}/deleteWebhook")(self._delete_webhook)
        self.app.post("/bot{token}/getMe")(self._get_me)

    def queue(self, *updates: dict[str, Any]) -> None:
        with self._changed:
            self._updates.extend(updates)
            self._changed.notify_all()

    def fail(self, method: str, response: Response, times: int = 1, after: int = 0) -> None:
        """Answer `times` calls of `method` with `response`, after `after` good ones."""
        self._script.setdefault(method, []).extend([None] * after + [response] * times)

    def offsets(self) -> list[int | None]:
        return [payload.get("offset") for method, payload in self.calls if method == "getUpdates"]

    async def _begin(self, method: str, token: str, request: Request) -> dict[str, Any] | Response:
        payload: dict[str, Any] = await request.json()
        self.calls.append((method, payload))
        if token != TOKEN:
            return error(401, "Unauthorized")
        script = self._script.get(method)
        scripted = script.pop(0) if script else None
        return payload if scripted is None else scripted

    async def _send_message(self, token: str, request: Request) -> Response:
        payload = await self._begin("sendMessage", token, request)
        if isinstance(payload, Response):
            return payload
        if not payload.get("text", "").strip() or units(payload["text"]) > MAX_TEXT:
            return error(400, "Bad Request: message text is empty or too long")
        self.sent.append(payload)
        return ok({"message_id": len(self.sent), "text": payload["text"]})

    async def _get_updates(self, token: str, request: Request) -> Response:
        payload = await self._begin("getUpdates", token, request)
        if isinstance(payload, Response):
            return payload
        if self.webhook is not None:
            return error(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = payload.get("offset")
        deadline = time.monotonic() + payload.get("timeout", 0)
        ready = await run_in_threadpool(self._wait_for_updates, offset, deadline)
        return ok(ready)

    def _wait_for_updates(self, offset: int | None, deadline: float) -> list[dict[str, Any]]:
        with self._changed:
            if offset is not None:
                # As Telegram does: an offset confirms every update below it, for good.
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while not self._updates and time.monotonic() < deadline:
                self._changed.wait(deadline - time.monotonic())
            return list(self._updates)

    async def _set_webhook(self, token: str, request: Request) -> Response:
        payload = await self._begin("setWebhook", token, request)
        if isinstance(payload, Response):
            return payload
        self.webhook = payload
        return ok(True)

    async def _delete_webhook(self, token: str, request: Request) -> Response:
        payload = await self._begin("deleteWebhook", token, request)
        if isinstance(payload, Response):
            return payload
        self.webhook = None
        return ok(True)

    async def _get_me(self, token: str, request: Request) -> Response:
        payload = await self._begin("getMe", token, request)
        if isinstance(payload, Response):
            return payload
        return ok({"id": 7012345678, "is_bot": True, "username": "EmsTrackBot"})


def ok(result: object) -> JSONResponse:
    return JSONResponse({"ok": True, "result": result})


def error(status: int, description: str, **parameters: object) -> JSONResponse:
    body: dict[str, object] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return JSONResponse(body, status_code=status)


@pytest.fixture
def telegram() -> Iterator[tuple[FakeTelegram, str]]:
    fake = FakeTelegram()
    with serve_url(fake.app) as base_url:
        yield fake, base_url


@pytest.fixture
def api(telegram: tuple[FakeTelegram, str]) -> Iterator[BotAPI]:
    with BotAPI(TOKEN, base_url=telegram[1], timeout=5) as bot:
        yield bot


@pytest.fixture
def fake(telegram: tuple[FakeTelegram, str]) -> FakeTelegram:
    return telegram[0]


# --- sending -----------------------------------------------------------------------------------


def test_defaults() -> None:
    assert DEFAULT_API_BASE == "https://api.telegram.org"
    assert MAX_TEXT == 4096
    with httpx.Client() as client:
        assert TOKEN not in repr(BotAPI(TOKEN, client=client))


def test_send_message_of_10000_chars_arrives_as_ordered_parts(
    api: BotAPI, fake: FakeTelegram
) -> None:
    lines = [f"{n + 1}. EE{n:08d}5CN  2024-04-25 10:{n % 60:02d}  delivered ✅" for n in range(300)]
    text = "\n".join(lines)
    assert len(text) >= 10_000
    api.send_message(1111, text)
    assert len(fake.sent) == 4
    assert {payload["chat_id"] for payload in fake.sent} == {1111}
    assert "\n".join(payload["text"] for payload in fake.sent) == text
    assert all(units(payload["text"]) <= MAX_TEXT for payload in fake.sent)


def test_send_message_of_one_long_word(api: BotAPI, fake: FakeTelegram) -> None:
    api.send_message(-100123, "x" * 10_000)
    assert [len(payload["text"]) for payload in fake.sent] == [4096, 4096, 1808]


def test_send_message_refuses_a_blank_text(api: BotAPI, fake: FakeTelegram) -> None:
    with pytest.raises(ValueError, match="text"):
        api.send_message(1111, " \n ")
    assert fake.calls == []


@pytest.mark.parametrize(
    ("response", "code", "retryable", "retry_after"),
    [
        (error(429, "Too Many Requests: retry after 7", retry_after=7), "rate_limited", True, 7.0),
        (error(403, "Forbidden: bot was blocked by the user"), "forbidden", False, None),
        (error(400, "Bad Request: chat not found"), "bad_request", False, None),
        # A proxy that echoes the path: the description is scrubbed of the token.
        (error(404, f"Not Found: /bot{TOKEN}/sendMessage"), "not_found", False, None),
        (error(500, "Internal Server Error"), "server_error", True, None),
        (
            PlainTextResponse("<html>502 Bad Gateway</html>", status_code=502),
            "server_error",
            True,
            None,
        ),
        (PlainTextResponse("hello", status_code=200), "server_error", True, None),
    ],
)
def test_send_message_errors(
    api: BotAPI,
    fake: FakeTelegram,
    response: Response,
    code: str,
    retryable: bool,
    retry_after: float | None,
) -> None:
    fake.fail("sendMessage", response)
    with pytest.raises(TelegramError) as caught:
        api.send_message(1111, "EE123456785CN: delivered")
    assert caught.value.code == code
    assert caught.value.retryable is retryable
    assert caught.value.retry_after == retry_after
    assert_no_token(caught.value)


def test_the_token_never_reaches_the_http_log(
    api: BotAPI, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    # httpx logs every request's URL at INFO, and the Bot API puts the token in the path.
    with caplog.at_level(logging.INFO, logger="httpx"):
        api.send_message(1111, "hello")
    assert "sendMessage" in caplog.text
    assert TOKEN not in caplog.text
    assert "/bot***/sendMessage" in caplog.text


def test_a_failed_part_stops_the_sending(api: BotAPI, fake: FakeTelegram) -> None:
    fake.fail("sendMessage", error(429, "Too Many Requests", retry_after=1), after=1)
    with pytest.raises(TelegramError) as caught:
        api.send_message(1111, "a" * 4096 + "b" * 4096 + "c" * 100)
    assert caught.value.code == "rate_limited"
    assert [payload["text"] for payload in fake.sent] == ["a" * 4096]
    assert len(fake.calls) == 2  # the third part was not tried


def test_a_wrong_token_is_unauthorized_and_not_leaked(telegram: tuple[FakeTelegram, str]) -> None:
    wrong = "7012345678:AAH-wrong-token"
    with BotAPI(wrong, base_url=telegram[1]) as bot, pytest.raises(TelegramError) as caught:
        bot.delete_webhook()
    assert caught.value.code == "unauthorized"
    assert caught.value.hint == "Check the bot token."
    assert wrong not in str(caught.value) + repr(caught.value)


def test_network_errors_are_retryable_and_do_not_leak_the_token() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    with (
        BotAPI(TOKEN, base_url=f"http://127.0.0.1:{port}/", timeout=2) as bot,
        pytest.raises(TelegramError) as caught,
    ):
        bot.send_message(1111, "hello")
    assert caught.value.code == "network"
    assert caught.value.retryable
    assert_no_token(caught.value)


def assert_no_token(exc: BaseException) -> None:
    shown = [str(exc), repr(exc), *map(str, exc.args)]
    assert all(TOKEN not in text for text in shown)
    # Nothing chained either: a traceback would print the httpx error and its request URL.
    assert exc.__cause__ is None
    assert exc.__suppress_context__ or exc.__context__ is None


# --- webhook registration and polling ----------------------------------------------------------


def test_set_and_delete_webhook(api: BotAPI, fake: FakeTelegram) -> None:
    api.set_webhook("https://track.example.org/channels/telegram", "s3cret_Token-1")
    assert fake.webhook == {
        "url": "https://track.example.org/channels/telegram",
        "secret_token": "s3cret_Token-1",
        "allowed_updates": ["message", "edited_message"],
    }
    api.delete_webhook()
    assert fake.webhook is None
    with pytest.raises(ValueError, match="secret"):
        api.set_webhook("https://track.example.org/channels/telegram", "not valid!")


def test_the_bots_username_is_asked_once(api: BotAPI, fake: FakeTelegram) -> None:
    fake.fail("getMe", error(502, "Bad Gateway"))
    assert api.username() is None  # asked again next time
    assert api.username() == "EmsTrackBot"
    assert api.username() == "EmsTrackBot"
    assert [method for method, _ in fake.calls] == ["getMe", "getMe"]


def test_get_updates_honours_offset(api: BotAPI, fake: FakeTelegram) -> None:
    api.delete_webhook()
    fake.queue(message(10, "a"), message(11, "b"), message(12, "c"))
    assert [u["update_id"] for u in api.get_updates(None, timeout=0)] == [10, 11, 12]
    assert [u["update_id"] for u in api.get_updates(12, timeout=0)] == [12]
    assert api.get_updates(13, timeout=0) == []


def test_get_updates_waits_longer_than_the_http_timeout(
    telegram: tuple[FakeTelegram, str], api: BotAPI
) -> None:
    api.delete_webhook()
    with BotAPI(TOKEN, base_url=telegram[1], timeout=0.3) as short:
        started = time.monotonic()
        assert short.get_updates(None, timeout=1) == []  # a 1 s poll outlasts a 0.3 s timeout
        assert time.monotonic() - started >= 0.9


def test_get_updates_while_a_webhook_is_set_says_what_to_do(api: BotAPI) -> None:
    with pytest.raises(TelegramError) as caught:
        api.get_updates(None, timeout=0)
    assert caught.value.code == "conflict"
    assert "delete the webhook" in str(caught.value)


@contextmanager
def polling(api: BotAPI, handle: Any, poll_timeout: int = 1) -> Iterator[list[int | None]]:
    """Run `poll` in a thread; on exit, stop it, check it ended promptly, and give its result."""
    stop = threading.Event()
    result: list[int | None] = []
    thread = threading.Thread(
        target=lambda: result.append(poll(api, handle, stop=stop, poll_timeout=poll_timeout)),
        daemon=True,
    )
    thread.start()
    try:
        yield result
    finally:
        stop.set()
        thread.join(poll_timeout + 2)
        assert not thread.is_alive(), "poll did not stop"


def wait_until(condition: Any, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_poll_handles_updates_in_order_and_survives_failures(
    api: BotAPI, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    api.delete_webhook()
    handled: list[str | None] = []

    def handle(update: Update) -> None:
        handled.append(update.text)
        if update.text == "boom":
            raise RuntimeError("the handler broke")

    fake.queue(
        message(10, "EE123456785CN"),
        {"update_id": 11, "message": "not an object"},
        message(12, "boom"),
        {"update_id": 13, "callback_query": {"id": "1"}},
        message(14, "/track RR987654321DE"),
    )
    with (
        caplog.at_level(logging.WARNING, "emstrack.channels.telegram"),
        polling(api, handle) as result,
    ):
        wait_until(lambda: len(handled) == 4)
        fake.queue(message(15, "after the failures"))
        wait_until(lambda: len(handled) == 5)
    assert handled == [
        "EE123456785CN",
        "boom",
        None,  # the callback query is passed on, with no chat
        "/track RR987654321DE",
        "after the failures",
    ]
    assert result == [16]
    offsets = fake.offsets()
    assert offsets[0] is None
    assert {15, 16} <= set(offsets)
    assert offsets[1:] == sorted(o for o in offsets[1:] if o is not None), "never backwards"
    messages = [record.getMessage() for record in caplog.records]
    assert any("skipped an update" in m for m in messages)
    assert any("handling update 12 failed" in m for m in messages)
    assert all(TOKEN not in m for m in messages)


def test_poll_resumes_from_a_given_offset(api: BotAPI, fake: FakeTelegram) -> None:
    api.delete_webhook()
    fake.queue(message(20, "old"), message(21, "new"))
    handled: list[int] = []
    stop = threading.Event()

    def handle(update: Update) -> None:
        handled.append(update.update_id)
        stop.set()

    assert poll(api, handle, stop=stop, offset=21, poll_timeout=1) == 22
    assert handled == [21]


def test_poll_backs_off_on_errors_and_stops_promptly(
    api: BotAPI, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    api.delete_webhook()
    fake.fail("getUpdates", error(500, "Internal Server Error"), times=1000)
    with caplog.at_level(logging.WARNING, "emstrack.channels.telegram"):
        with polling(api, lambda update: None) as result:
            time.sleep(1.6)
            stopped = time.monotonic()
        # Set during a back-off wait, `stop` ends it at once.
        assert time.monotonic() - stopped < 0.5
    # Retries at 0, 1 and 3 s: not a spin.
    assert 1 <= len(fake.offsets()) <= 2
    assert result == [None]
    assert all(TOKEN not in record.getMessage() for record in caplog.records)


def test_poll_waits_as_long_as_telegram_asks(api: BotAPI, fake: FakeTelegram) -> None:
    api.delete_webhook()
    fake.fail("getUpdates", error(429, "Too Many Requests: retry after 2", retry_after=2))
    fake.queue(message(30, "EE123456785CN"))
    handled: list[float] = []
    started = time.monotonic()
    with polling(api, lambda update: handled.append(time.monotonic() - started)):
        wait_until(lambda: handled)
    assert handled[0] >= 1.9


def test_poll_stops_during_a_long_poll(api: BotAPI, fake: FakeTelegram) -> None:
    api.delete_webhook()
    with polling(api, lambda update: None, poll_timeout=1) as result:
        time.sleep(0.3)
        stopped = time.monotonic()
    assert time.monotonic() - stopped < 1.5
    assert result == [None]
