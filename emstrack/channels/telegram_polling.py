"""The Telegram bot by long polling, for servers without public HTTPS."""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine

from emstrack.channels.replies import telegram_handler
from emstrack.channels.telegram import BotAPI, poll
from emstrack.config import Settings
from emstrack.lookup import Tracker
from emstrack.notify.tokens import NotConfigured
from emstrack.web.ratelimit import Limiter

log = logging.getLogger(__name__)


def run_polling(
    settings: Settings, engine: Engine, stop: threading.Event, *, poll_timeout: int = 25
) -> None:
    """Answer the bot's messages until `stop` is set; removes any webhook first (§2.3)."""
    if not settings.telegram_bot_token.get_secret_value():
        raise NotConfigured(
            "telegram_off",
            "The Telegram bot is not set up.",
            "Set EMSTRACK_TELEGRAM_BOT_TOKEN to the token from @BotFather.",
        )
    with BotAPI(
        settings.telegram_bot_token.get_secret_value(), base_url=settings.telegram_api_base
    ) as api:
        # getUpdates is refused while a webhook is set; pending updates are kept.
        api.delete_webhook()
        handle = telegram_handler(
            settings=settings,
            engine=engine,
            tracker=Tracker(engine, settings),
            api=api,
            # The web server's limits: shared with it through Redis when EMSTRACK_REDIS_URL is set.
            limiter=Limiter(settings.redis_url),
        )
        log.info("telegram: polling for updates")
        poll(api, handle, stop=stop, poll_timeout=poll_timeout)
