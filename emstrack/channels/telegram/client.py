"""A client of the Telegram Bot API for one bot: text messages out, updates by long polling.

`BotAPI.send_message` splits long texts to Telegram's 4096-unit limit
(`emstrack.channels.telegram.protocol.split_text`).

The bot token is a password and sits in every API URL, so nothing raised or logged here carries
it: messages are scrubbed and foreign exceptions are mapped onto `TelegramError` without chaining.
"""

from __future__ import annotations

import logging
import re
from types import TracebackType

import httpx

from emstrack.channels.logs import redact_httpx
from emstrack.channels.telegram.protocol import TelegramError, split_text, valid_secret_token

log = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://api.telegram.org"

# Only message kinds we answer; telling Telegram so saves it sending us the rest.
_ALLOWED_UPDATES = ["message", "edited_message"]


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
        self._username: str | None = None

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

    def username(self) -> str | None:
        """The bot's own username (`getMe`), asked once; None while Telegram cannot tell."""
        if self._username is None:
            try:
                me = self._call("getMe", {})
            except TelegramError as exc:
                log.warning("telegram: getMe failed (%s): %s", exc.code, exc)
                return None
            name = me.get("username") if isinstance(me, dict) else None
            self._username = name if isinstance(name, str) and name else None
        return self._username

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
