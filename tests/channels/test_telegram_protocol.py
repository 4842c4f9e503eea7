"""The Telegram protocol layer against a stand-in Bot API served by uvicorn on loopback."""

from __future__ import annotations

import copy
import itertools
import logging
import re
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
from hypothesis import given
from hypothesis import strategies as st
from starlette.concurrency import run_in_threadpool
from webclient import serve_url

from emstrack.channels.telegram import (
    DEFAULT_API_BASE,
    MAX_TEXT,
    BotAPI,
    Command,
    TelegramError,
    Update,
    check_secret,
    parse_command,
    parse_update,
    poll,
    split_text,
    valid_secret_token,
)

TOKEN = "7012345678:AAH-sEcReT_bot-token-do-not-leak"

# The example from channels.md §2.1, as Telegram sends it.
SPEC_UPDATE: dict[str, Any] = {
    "update_id": 123456789,
    "message": {
        "message_id": 42,
        "from": {"id": 1111, "is_bot": False, "first_name": "Ana"},
        "chat": {"id": 1111, "type": "private", "first_name": "Ana"},
        "date": 1714037059,
        "text": "EE123456785CN",
    },
}


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


# --- secrets -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expected", "header", "accepted"),
    [
        ("s3cret_Token-1", "s3cret_Token-1", True),
        ("s3cret_Token-1", "s3cret_Token-2", False),
        ("s3cret_Token-1", "s3cret_Token-1 ", False),
        ("s3cret_Token-1", None, False),
        ("s3cret_Token-1", "", False),
        ("", "", False),  # no secret configured: nothing gets in
        ("", None, False),
        ("s3cret_Token-1", "s3cret_Tökén-1", False),  # non-ASCII header: no crash
    ],
)
def test_check_secret(expected: str, header: str | None, accepted: bool) -> None:
    assert check_secret(expected, header) is accepted


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("a", True),
        ("Az09_-", True),
        ("x" * 256, True),
        ("x" * 257, False),
        ("", False),
        ("has space", False),
        ("dot.ted", False),
        ("ünïcode", False),
        ("trailing\n", False),
    ],
)
def test_valid_secret_token(value: str, valid: bool) -> None:
    assert valid_secret_token(value) is valid


# --- updates -----------------------------------------------------------------------------------


def test_parse_update_reads_the_spec_example() -> None:
    assert parse_update(SPEC_UPDATE) == Update(
        update_id=123456789,
        chat_id=1111,
        user_id=1111,
        text="EE123456785CN",
        language_code=None,
        message_id=42,
    )


def test_parse_update_reads_an_edited_message_in_a_group() -> None:
    data = {
        "update_id": 7,
        "edited_message": {
            "message_id": 9,
            "from": {"id": 2222, "is_bot": False, "first_name": "Li", "language_code": "zh-hans"},
            "chat": {"id": -1001234567890, "type": "supergroup", "title": "Parcels"},
            "date": 1714037059,
            "edit_date": 1714037100,
            "text": "/track EE123456785CN",
        },
    }
    assert parse_update(data) == Update(
        7, -1001234567890, 2222, "/track EE123456785CN", "zh-hans", 9
    )


@pytest.mark.parametrize(
    "data",
    [
        {"update_id": 8, "callback_query": {"id": "4382", "data": "x"}},
        {"update_id": 8, "my_chat_member": {"chat": {"id": 1}}},
        {"update_id": 8, "message": None},
    ],
)
def test_parse_update_passes_over_other_kinds(data: dict[str, Any]) -> None:
    assert parse_update(data) == Update(8, None, None, None, None, None)


def test_parse_update_of_a_photo_has_no_text() -> None:
    data = message(5, "x")
    del data["message"]["text"]
    data["message"]["photo"] = [{"file_id": "abc", "width": 90, "height": 90}]
    assert parse_update(data).text is None
    assert parse_update(data).chat_id == 1111


def _spec_with(path: tuple[str, ...], value: object) -> dict[str, Any]:
    data = copy.deepcopy(SPEC_UPDATE)
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        "EE123456785CN",
        123456789,
        {},
        {"message": SPEC_UPDATE["message"]},
        _spec_with(("update_id",), "123456789"),
        _spec_with(("update_id",), True),
        _spec_with(("update_id",), 123456789.0),
        _spec_with(("update_id",), None),
        _spec_with(("message",), []),
        _spec_with(("message",), "hello"),
        _spec_with(("message", "chat"), None),
        _spec_with(("message", "chat"), 1111),
        _spec_with(("message", "chat", "id"), "1111"),
        _spec_with(("message", "chat", "id"), False),
        _spec_with(("message", "from"), "Ana"),
        _spec_with(("message", "from", "id"), 11.5),
        _spec_with(("message", "from", "language_code"), 7),
        _spec_with(("message", "text"), ["EE123456785CN"]),
        _spec_with(("message", "message_id"), "42"),
    ],
)
def test_parse_update_refuses_malformed_input(data: object) -> None:
    with pytest.raises(TelegramError) as caught:
        parse_update(data)
    assert caught.value.code == "bad_update"
    assert not caught.value.retryable


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
# Near-updates: the right keys with arbitrary values reach the deeper checks.
near_updates = st.fixed_dictionaries(
    {"update_id": st.integers() | json_values},
    optional={
        "message": st.fixed_dictionaries(
            {},
            optional={
                "chat": st.fixed_dictionaries({}, optional={"id": json_values}) | json_values,
                "from": st.fixed_dictionaries(
                    {}, optional={"id": json_values, "language_code": json_values}
                )
                | json_values,
                "text": json_values,
                "message_id": json_values,
            },
        )
        | json_values,
        "edited_message": json_values,
    },
)


@given(json_values | near_updates)
def test_parse_update_raises_nothing_but_telegram_error(data: object) -> None:
    try:
        update = parse_update(data)
    except TelegramError as exc:
        codes = [exc.code]
    else:
        codes = []
        assert isinstance(update.update_id, int)
        assert not isinstance(update.update_id, bool)
        assert update.chat_id is None or type(update.chat_id) is int
    assert codes in ([], ["bad_update"])


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


# --- splitting ---------------------------------------------------------------------------------

# Characters of one, two (emoji outside the BMP) and "wide" (CJK) kinds, and the whitespace
# the splitter cuts at.
_alphabet = st.sampled_from(["a", "Z", "7", "é", "中", "文", "😀", "📦", "\u200d", " ", "\n", "\t"])


def _reassembles(text: str, parts: list[str]) -> bool:
    """Whether `text` is the parts in order with only whitespace between, before and after."""
    pattern = r"\s*" + r"\s*".join(re.escape(part) for part in parts) + r"\s*"
    return re.fullmatch(pattern, text) is not None


@given(st.lists(_alphabet, max_size=300).map("".join), st.integers(min_value=2, max_value=40))
def test_split_text_keeps_everything_but_whitespace_at_cuts(text: str, limit: int) -> None:
    parts = split_text(text, limit)
    for part in parts:
        assert part.strip(), "no empty or blank part"
        assert units(part) <= limit
        part.encode("utf-8")  # no lone surrogate: no pair was cut in two
    assert _reassembles(text, parts)
    assert (parts == []) == (text.strip() == "")


_word = st.text(st.sampled_from(["a", "é", "中", "😀", "-", "."]), min_size=1, max_size=12)


@given(st.lists(_word, min_size=1, max_size=40), st.integers(min_value=24, max_value=60))
def test_split_text_cuts_only_at_line_breaks_when_lines_fit(lines: list[str], limit: int) -> None:
    text = "\n".join(lines)
    parts = split_text(text, limit)
    assert "\n".join(parts) == text
    for part, following in itertools.pairwise(parts):
        # Each part is as long as it can be: the next line would not have fitted.
        assert units(part) + 1 + units(following.split("\n")[0]) > limit


def test_split_text_fills_parts_with_emoji_and_cjk() -> None:
    emoji = split_text("📦" * 5000)
    assert [units(part) for part in emoji] == [4096, 4096, 1808]
    assert "".join(emoji) == "📦" * 5000
    cjk = split_text("中" * 5000)
    assert [len(part) for part in cjk] == [4096, 904]


def test_split_text_prefers_line_breaks_then_spaces() -> None:
    assert split_text("one two\nthree four", 12) == ["one two", "three four"]
    assert split_text("one two three four", 12) == ["one two", "three four"]
    assert split_text("abcdefghij", 4) == ["abcd", "efgh", "ij"]
    # A break just past the limit is as good as one inside it.
    assert split_text("abcd\nefgh", 4) == ["abcd", "efgh"]
    assert split_text("short", 4096) == ["short"]
    assert split_text(" \n\t ") == []
    with pytest.raises(ValueError, match="limit"):
        split_text("x", 1)


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
