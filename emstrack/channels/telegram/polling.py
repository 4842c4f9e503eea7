"""The Telegram bot by long polling (`getUpdates`), for servers without public HTTPS.

See docs/standards/channels.md §2.3: Telegram delivers either to a webhook or to polling, so
polling removes the webhook first.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from emstrack.channels.conversation import Bot, Limits
from emstrack.channels.telegram.bot import update_handler
from emstrack.channels.telegram.client import BotAPI
from emstrack.channels.telegram.protocol import TelegramError, Update, parse_update
from emstrack.config import Settings
from emstrack.errors import NotConfigured
from emstrack.lookup import Tracker
from emstrack.store.database import Database

# Capped exponential back-off of the polling loop after errors, in seconds.
_BACKOFF_START = 1.0
_BACKOFF_CAP = 30.0

log = logging.getLogger(__name__)


def run_polling(
    settings: Settings,
    db: Database,
    stop: threading.Event,
    *,
    limits: Limits,
    poll_timeout: int = 25,
) -> None:
    """Answer the bot's messages until `stop` is set; removes any webhook first.

    `limits` are the web server's (shared with it through Redis when EMSTRACK_REDIS_URL is set).
    """
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
        # A chat's lookups are public: on a read replica where there are any.
        tracker = Tracker(db, settings).reading(db, replica_ok=True)
        handle = update_handler(Bot(db, tracker, settings, limits), api)
        log.info("telegram: polling for updates")
        poll(api, handle, stop=stop, poll_timeout=poll_timeout)


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
