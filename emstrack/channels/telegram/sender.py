"""Notices to a Telegram chat, behind the notify worker's `Sender` protocol."""

from __future__ import annotations

from emstrack.channels.telegram.client import BotAPI
from emstrack.channels.telegram.protocol import TelegramError
from emstrack.config import Settings
from emstrack.domain.lang import Lang
from emstrack.notify import messages
from emstrack.notify.senders import SENT, Result
from emstrack.store.outbox import OutboxRow


class TelegramSender:
    """Bot messages to a Telegram chat id."""

    def __init__(self, settings: Settings, api: BotAPI | None = None) -> None:
        self._settings = settings
        self._api = api
        self._owns = api is None
        if api is None and settings.telegram_bot_token.get_secret_value():
            self._api = BotAPI(
                settings.telegram_bot_token.get_secret_value(), base_url=settings.telegram_api_base
            )

    def send(self, row: OutboxRow, *, lang: Lang = "en") -> Result:
        if self._api is None:
            return Result(False, False, "Telegram is not configured (telegram_bot_token)")
        try:
            chat_id = int(row.target)
        except ValueError:
            return Result(False, False, "The Telegram chat id is not a number.")
        try:
            self._api.send_message(chat_id, messages.chat_text(row, self._settings, lang))
        except TelegramError as exc:
            return Result(
                False, exc.retryable, f"Telegram {exc.code}: {exc.message}", exc.retry_after
            )
        return SENT

    def close(self) -> None:
        if self._owns and self._api is not None:
            self._api.close()
