"""The Telegram Bot API, as far as a tracking bot needs it: updates in, text messages out.

Two ways to receive updates (spec: channels.md §2): a webhook, where Telegram POSTs each update
with our secret in `X-Telegram-Bot-Api-Secret-Token` (see `check_secret`, `parse_update`), and
long polling with `getUpdates` for self-hosters without public HTTPS (see `poll`). Replies go
out through `BotAPI.send_message`, which splits long texts to Telegram's 4096-unit limit.

The bot token is a password and sits in every API URL, so nothing raised or logged here carries
it: messages are scrubbed and foreign exceptions are mapped onto `TelegramError` without chaining.
"""

from __future__ import annotations

import hmac
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

import httpx

from emstrack.channels.logs import redact_httpx
from emstrack.errors import EmstrackError

DEFAULT_API_BASE = "https://api.telegram.org"
MAX_TEXT = 4096

# Only message kinds we answer; telling Telegram so saves it sending us the rest.
_ALLOWED_UPDATES = ["message", "edited_message"]
# Capped exponential back-off of the polling loop after errors, in seconds.
_BACKOFF_START = 1.0
_BACKOFF_CAP = 30.0

_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
# Telegram's command names: 1–32 of a-z, 0-9 and _; we accept them in any case.
_COMMAND = re.compile(r"/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]+))?")

log = logging.getLogger(__name__)


class _RedactToken(logging.Filter):
    """Hide the bot token in the request URLs httpx logs at INFO level (`/bot<token>/...`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted(arg) for arg in record.args)
        return True


def _redacted(arg: object) -> object:
    if isinstance(arg, httpx.URL) and arg.path.startswith("/bot"):
        return arg.copy_with(path=re.sub(r"^/bot[^/]*", "/bot***", arg.path))
    return arg


class TelegramError(EmstrackError):
    """A failed call to the Bot API, or an update we cannot read.

    `retryable` says whether the same call may succeed later (rate limit, server or network
    trouble); `retry_after` is Telegram's wait in seconds where it gave one; `status` is the
    HTTP status where there was a response.
    """

    def __init__(
        self,
        code: str,
        message: str | None = None,
        hint: str | None = None,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(code, message or _MESSAGES.get(code, code), hint)
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status

    def __repr__(self) -> str:
        return f"TelegramError({self.code!r}, {self.message!r}, retryable={self.retryable})"


_MESSAGES = {
    "bad_update": "The update is not one the Bot API sends.",
    "bad_response": "The Bot API answered with something that is not a Bot API response.",
}
# Bot API `error_code` (an HTTP status) to our code; anything else is "api_error".
_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    429: "rate_limited",
}
_HINTS = {
    401: "Check the bot token.",
    # Telegram answers 404 rather than 401 to most malformed tokens.
    404: "Check the bot token and the API base URL.",
    409: "Another process is polling this bot, or a webhook is set: delete the webhook first.",
}


def check_secret(expected: str, header: str | None) -> bool:
    """Whether a webhook call carries our secret token; an unset secret matches nothing."""
    if not expected or header is None:
        return False
    # Compared as bytes: compare_digest refuses non-ASCII str, and a header may hold anything.
    return hmac.compare_digest(expected.encode(), header.encode("utf-8", "surrogateescape"))


def valid_secret_token(value: str) -> bool:
    """Whether `value` is a secret token Telegram accepts: 1–256 of A-Z a-z 0-9 _ -."""
    return _SECRET_TOKEN.fullmatch(value) is not None


@dataclass(frozen=True)
class Update:
    """What we use of one update; `chat_id` is None for kinds other than a (edited) message."""

    update_id: int
    chat_id: int | None
    user_id: int | None
    text: str | None
    language_code: str | None
    message_id: int | None


def parse_update(data: object) -> Update:
    """Read an update decoded from JSON; malformed input raises TelegramError("bad_update")."""
    if not isinstance(data, dict):
        raise TelegramError("bad_update", "An update is a JSON object.")
    update_id = _int(data, "update_id", required=True)
    assert update_id is not None  # required=True
    message = data.get("message", data.get("edited_message"))
    if message is None:
        # A callback query, a channel post, a member change…: nothing for us to answer.
        return Update(update_id, None, None, None, None, None)
    if not isinstance(message, dict):
        raise TelegramError("bad_update", "The update's message is not an object.")
    chat = message.get("chat")
    if not isinstance(chat, dict):
        raise TelegramError("bad_update", "The message has no chat.")
    chat_id = _int(chat, "id", required=True)
    sender = message.get("from")
    if sender is not None and not isinstance(sender, dict):
        raise TelegramError("bad_update", "The message's sender is not an object.")
    sender = sender or {}
    return Update(
        update_id=update_id,
        chat_id=chat_id,
        user_id=_int(sender, "id"),
        text=_str(message, "text"),
        language_code=_str(sender, "language_code"),
        message_id=_int(message, "message_id"),
    )


def _int(data: dict[object, object], key: str, *, required: bool = False) -> int | None:
    value = data.get(key)
    if value is None and not required:
        return None
    # bool is an int to Python, but `true` is not an identifier to Telegram.
    if not isinstance(value, int) or isinstance(value, bool):
        raise TelegramError("bad_update", f"{key} is not an integer.")
    return value


def _str(data: dict[object, object], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise TelegramError("bad_update", f"{key} is not a string.")
    return value


@dataclass(frozen=True)
class Command:
    """A message read as a bot command: `name` lower-cased without "/", or None for plain text."""

    name: str | None
    args: str


def parse_command(text: str, bot_username: str | None = None) -> Command:
    """Read `/track EE123456785CN`, `/track@MyBot …` or plain text.

    A command addressed to another bot (`/track@OtherBot`, in a group) gives `Command(None, "")`:
    like an empty message, it asks for no answer. Without `bot_username` every address is taken
    as ours. A "/" not followed by a command name (`/`, `/ EE1…`) is plain text.
    """
    stripped = text.strip()
    # Telegram ends a command at any whitespace, not only at a space.
    parts = stripped.split(maxsplit=1)
    head = parts[0] if parts else ""
    rest = parts[1] if len(parts) > 1 else ""
    match = _COMMAND.fullmatch(head)
    if match is None:
        return Command(None, stripped)
    name, addressee = match.groups()
    if addressee and bot_username and addressee.lower() != bot_username.lstrip("@").lower():
        return Command(None, "")
    return Command(name.lower(), rest.strip())


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Cut `text` into messages of at most `limit` UTF-16 code units, Telegram's measure.

    Cuts fall after the last line break that fits, else after the last other whitespace, else
    (one long word) at the limit. Only whitespace at a cut is dropped, and a part is never
    empty or only whitespace; so the parts, in order, are the text with some runs of whitespace
    at the cuts (and leading and trailing blank parts) removed. A blank text gives no parts.
    """
    if limit < 2:
        raise ValueError("limit must leave room for a character outside the BMP (2 units)")
    parts: list[str] = []
    rest = text
    while rest:
        end = _fitting(rest, limit)
        if end == len(rest):
            chunk, rest = rest, ""
        else:
            # The character just past the limit may be the cut: whitespace there is dropped.
            cut = rest.rfind("\n", 0, end + 1)
            if cut <= 0:
                cut = max((i for i in range(end + 1) if rest[i].isspace()), default=0)
            if cut <= 0:
                cut = end  # no whitespace to cut at: cut the word
            chunk, rest = rest[:cut].rstrip(), rest[cut:].lstrip()
        if chunk.strip():
            parts.append(chunk)
    return parts


def _fitting(text: str, limit: int) -> int:
    """How many characters from the start of `text` fit in `limit` UTF-16 code units."""
    units = 0
    for index, char in enumerate(text):
        # Outside the BMP a character is a surrogate pair: two units, never to be cut apart.
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


class BotAPI:
    """A client of the Bot API for one bot token; use as a context manager or `close()` it."""

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_API_BASE,
        client: httpx.Client | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._token = token
        self._base = base_url.rstrip("/")
        self._timeout = timeout
        self._own_client = client is None
        redact_httpx(_RedactToken)
        self._client = client if client is not None else httpx.Client(timeout=timeout)

    def __repr__(self) -> str:
        return f"BotAPI(base_url={self._base!r})"

    def close(self) -> None:
        """Close the HTTP client, if this object made it."""
        if self._own_client:
            self._client.close()

    def __enter__(self) -> BotAPI:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def send_message(self, chat_id: int, text: str) -> None:
        """Send `text` to a chat, as several messages in order where it is too long for one.

        A failure stops the sending: the parts before it have been delivered. A blank text is
        refused with ValueError, as Telegram would refuse it.
        """
        parts = split_text(text)
        if not parts:
            raise ValueError("a message needs some text that is not whitespace")
        for part in parts:
            self._call("sendMessage", {"chat_id": chat_id, "text": part})

    def get_updates(self, offset: int | None, timeout: int = 25) -> list[dict[str, object]]:
        """Long-poll for updates after those below `offset`, waiting up to `timeout` seconds."""
        payload: dict[str, object] = {"timeout": timeout, "allowed_updates": _ALLOWED_UPDATES}
        if offset is not None:
            payload["offset"] = offset
        # Telegram holds the request up to `timeout` seconds, so our own limit must be longer.
        result = self._call("getUpdates", payload, timeout=timeout + self._timeout)
        if not isinstance(result, list):
            raise TelegramError("bad_response", "getUpdates did not answer with a list.")
        return [item for item in result if isinstance(item, dict)]

    def delete_webhook(self) -> None:
        """Remove the webhook, which polling needs; pending updates are kept."""
        self._call("deleteWebhook", {})

    def set_webhook(self, url: str, secret_token: str) -> None:
        """Have Telegram POST updates to `url` (HTTPS, port 443, 80, 88 or 8443) with our secret."""
        if not valid_secret_token(secret_token):
            raise ValueError("a secret token is 1–256 characters of A-Z a-z 0-9 _ -")
        self._call(
            "setWebhook",
            {"url": url, "secret_token": secret_token, "allowed_updates": _ALLOWED_UPDATES},
        )

    def _call(
        self, method: str, payload: dict[str, object], timeout: float | None = None
    ) -> object:
        url = f"{self._base}/bot{self._token}/{method}"
        try:
            response = self._client.post(url, json=payload, timeout=timeout or self._timeout)
        except httpx.HTTPError as exc:
            # `from None`: httpx's exception holds the request, whose URL holds the token.
            raise TelegramError(
                "network",
                self._scrub(f"{method} failed: {type(exc).__name__}: {exc}"),
                retryable=True,
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("ok") is True and "result" in body:
            return body["result"]
        raise self._error(method, response.status_code, body)

    def _error(self, method: str, status: int, body: object) -> TelegramError:
        """The error for a response that is not `ok`: a Bot API error or a proxy's page."""
        error_code, description, retry_after = status, None, None
        if isinstance(body, dict):
            if isinstance(body.get("error_code"), int):
                error_code = body["error_code"]
            if isinstance(body.get("description"), str):
                description = body["description"]
            parameters = body.get("parameters")
            if isinstance(parameters, dict):
                wait = parameters.get("retry_after")
                if isinstance(wait, int | float) and not isinstance(wait, bool) and wait >= 0:
                    retry_after = float(wait)
        elif status < 400:
            # A 200 that is not a Bot API answer: something else stands at the base URL.
            error_code = 502
        code = "server_error" if error_code >= 500 else _CODES.get(error_code, "api_error")
        return TelegramError(
            code,
            self._scrub(f"{method} failed: {error_code} {description or 'no description'}"),
            _HINTS.get(error_code),
            retryable=error_code == 429 or error_code >= 500,
            retry_after=retry_after,
            status=status,
        )

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "<token>") if self._token else text


def poll(
    api: BotAPI,
    handle: Callable[[Update], None],
    *,
    stop: threading.Event,
    offset: int | None = None,
    poll_timeout: int = 25,
) -> int | None:
    """Receive updates by long polling and pass each to `handle`, until `stop` is set.

    Returns the offset to resume from. A malformed update is logged and skipped, an exception
    from `handle` is logged and the update counts as done (so one poison message cannot block
    the bot); after errors the loop waits, doubling up to a cap, or as long as Telegram asks.
    `stop` is seen between requests and during waits: a long poll in flight ends first, after
    at most `poll_timeout` seconds. Polling fails with "conflict" while a webhook is set: call
    `api.delete_webhook()` first.
    """
    failures = 0
    while not stop.is_set():
        wait: float | None = None
        try:
            updates = api.get_updates(offset, timeout=poll_timeout)
        except TelegramError as exc:
            log.warning("telegram: getUpdates failed (%s): %s", exc.code, exc)
            failures += 1
            wait = exc.retry_after
        else:
            batch_failed = False
            for raw in updates:
                if stop.is_set():
                    break
                offset, ok = _handle_one(raw, handle, offset)
                batch_failed = batch_failed or not ok
            failures = failures + 1 if batch_failed else 0
        if failures:
            # The exponent is capped too: after some hours of failures the float would overflow.
            delay = min(_BACKOFF_CAP, _BACKOFF_START * 2 ** min(failures - 1, 16))
            stop.wait(max(delay, wait or 0.0))
    return offset


def _handle_one(
    raw: dict[str, object], handle: Callable[[Update], None], offset: int | None
) -> tuple[int | None, bool]:
    """Pass one raw update to `handle`; the offset after it, and whether all went well."""
    try:
        update = parse_update(raw)
    except TelegramError as exc:
        log.warning("telegram: skipped an update: %s", exc)
        update_id = raw.get("update_id")
        # Even a bad update must be confirmed, or Telegram sends it again and again.
        if isinstance(update_id, int) and not isinstance(update_id, bool):
            offset = max(offset or 0, update_id + 1)
        return offset, False
    offset = max(offset or 0, update.update_id + 1)
    try:
        handle(update)
    except Exception:
        log.exception("telegram: handling update %d failed", update.update_id)
        return offset, False
    return offset, True
