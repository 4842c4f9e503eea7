"""Notices to a WeChat user, behind the notify worker's `Sender` protocol."""

from __future__ import annotations

from emstrack.channels.wechat.client import WeChatAPI, WeChatAPIError, client_for
from emstrack.config import Settings
from emstrack.domain.lang import Lang
from emstrack.notify import messages
from emstrack.notify.senders import SENT, Result
from emstrack.store.outbox import OutboxRow


class WeChatSender:
    """Customer-service text messages to a WeChat OpenID."""

    def __init__(self, settings: Settings, api: WeChatAPI | None = None) -> None:
        self._settings = settings
        self._api = api
        self._owns = api is None
        if api is None:
            self._api = client_for(settings)

    def send(self, row: OutboxRow, *, lang: Lang = "en") -> Result:
        if self._api is None:
            return Result(False, False, "WeChat is not configured (wechat_app_id, app_secret)")
        try:
            self._api.send_text(row.target, messages.chat_text(row, self._settings, lang))
        except WeChatAPIError as exc:
            return Result(False, exc.retryable, f"WeChat {exc.code}: {exc.message}")
        return SENT

    def close(self) -> None:
        if self._owns and self._api is not None:
            self._api.close()
