"""The WeChat bot: what to say to one message or event of a signed callback.

The HTTP side (signatures checked, the AES envelope opened, WeChat's five seconds kept) is the
web's (`emstrack.web.bots`); this is what happens in between, on a worker thread.
"""

from __future__ import annotations

from emstrack.channels.conversation import Bot, answer, seen_first, short_help
from emstrack.channels.wechat import menu, replay
from emstrack.channels.wechat.protocol import Incoming, WeChatError
from emstrack.channels.wording import welcome
from emstrack.notify import subscriptions


def respond(
    bot: Bot, incoming: Incoming, *, timestamp: str, nonce: str, signature: str, body: bytes
) -> str | None:
    """The reply to `incoming`, or None to answer `success` (nothing to say, or seen already).

    WeChatError when the signed URL came before with another body (see `replay`); `signature`
    is the one that was checked. Both checks write, so they can wait for a busy database too:
    the caller runs this under its time budget.
    """
    if not replay.first_use(
        bot.db, timestamp=timestamp, nonce=nonce, signature=signature, body=body
    ):
        raise WeChatError("bad_signature", "This signed URL came before with another body.")
    if not seen_first(bot.db, "wechat", incoming.dedupe_key):
        return None  # a redelivery of what was answered: `success`
    if incoming.msg_type == "event":
        if incoming.event == "subscribe":
            return welcome()
        if incoming.event == "click":
            # A button of the account's menu (`emstrack wechat menu set`).
            return menu.clicked(bot, incoming.event_key, user=incoming.from_user)
        if incoming.event == "unsubscribe":
            # An unfollower cannot be written to any more: their notices would only fail.
            subscriptions.unsubscribe_target(bot.db, "wechat", incoming.from_user)
        return None
    if incoming.msg_type != "text" or not (incoming.content or "").strip():
        return short_help("wechat", bot.settings)
    return answer(bot, incoming.content or "", channel="wechat", user=incoming.from_user, lang=None)
