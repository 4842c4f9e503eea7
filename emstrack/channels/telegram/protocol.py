"""The Telegram Bot API's protocol points, without any HTTP: updates in, commands, long texts.

Telegram delivers updates to a webhook with our secret in `X-Telegram-Bot-Api-Secret-Token`
(`check_secret`, `parse_update`) or by long polling (`emstrack.channels.telegram.polling`);
replies are text messages of at most 4096 UTF-16 units (`split_text`). See
docs/standards/channels.md §2.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass

from emstrack.errors import ChannelError

MAX_TEXT = 4096

_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


class TelegramError(ChannelError):
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
    """What we use of one update; `chat_id` is None for kinds other than a (edited) message.

    `text` is the message's text, or the caption of a photo or document; `forwarded` says the
    message was forwarded from elsewhere (it has a `forward_origin`, or the older `forward_*`
    fields): a message someone received and asks about, never a command to us.
    """

    update_id: int
    chat_id: int | None
    user_id: int | None
    text: str | None
    language_code: str | None
    message_id: int | None
    forwarded: bool = False


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
        text=_str(message, "text") or _str(message, "caption"),
        language_code=_str(sender, "language_code"),
        message_id=_int(message, "message_id"),
        forwarded=any(key in message for key in _FORWARDED),
    )


# What marks a forwarded message: `forward_origin` since Bot API 7.0, the others before it.
_FORWARDED = ("forward_origin", "forward_from", "forward_from_chat", "forward_sender_name")


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
