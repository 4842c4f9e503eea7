"""The Telegram bot: one update in, the conversation's answer out through `sendMessage`."""

from __future__ import annotations

import logging
from collections.abc import Callable

from emstrack.channels.conversation import Bot, answer, seen_first
from emstrack.channels.telegram.client import BotAPI
from emstrack.channels.telegram.protocol import Update
from emstrack.channels.wording import sorry

log = logging.getLogger(__name__)


def update_handler(bot: Bot, api: BotAPI) -> Callable[[Update], None]:
    """What to do with one Telegram update, for the webhook and for polling alike.

    A redelivered update (same `update_id`) is ignored; an update without a chat or text asks
    for nothing, nor does a command addressed to another bot (`/track@OtherBot`, in a group).
    A failed send raises TelegramError: the webhook logs it and still answers 200, polling logs
    it and moves on, so a user is never answered twice.
    """

    def handle(update: Update) -> None:
        if update.chat_id is None or not update.text or not update.text.strip():
            return
        if not seen_first(bot.db, "telegram", f"update:{update.update_id}"):
            return
        try:
            reply = answer(
                bot,
                update.text,
                channel="telegram",
                user=str(update.chat_id),
                lang=update.language_code,
                # The person, in a group too; a chat without a sender counts as one.
                sender=str(update.user_id if update.user_id is not None else update.chat_id),
                bot_username=api.username(),
                forwarded=update.forwarded,
            )
        except Exception:
            log.exception("telegram: answering update %d failed", update.update_id)
            reply = sorry()
        if reply is not None:
            api.send_message(update.chat_id, reply)

    return handle
