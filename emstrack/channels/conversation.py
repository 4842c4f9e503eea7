"""The conversation both bots hold, WeChat's and Telegram's: one chat message in, one answer out.

A message is read as a command (help, subscribe, unsubscribe, track) or as text that quotes
tracking numbers, spelled any way the web form accepts. Anything else gets a short help text:
never an error dump, never the user's long input echoed back. The sentences are in
`emstrack.channels.wording`; the platforms' length limits are applied by their senders (WeChat's
`text_reply` truncates, Telegram's `split_text` splits), and the answers stay compact anyway.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Protocol

from emstrack.channels.wording import MAX_NUMBERS, Words
from emstrack.config import Settings
from emstrack.domain import s10
from emstrack.domain.lang import Lang, match
from emstrack.errors import InputError, NotConfigured
from emstrack.lookup import Outcome, Tracker, TrackingResult
from emstrack.notify import subscriptions
from emstrack.store.channel_seen import first_sighting
from emstrack.store.database import Database

#: Only the start of a message is read: nobody pastes more than this to a tracking bot.
MAX_INPUT = 4000
#: The language a channel answers in when the message gives no hint.
DEFAULT_LANG: dict[str, Lang] = {"wechat": "zh", "telegram": "en"}

_CJK = re.compile("[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f]")
# What a person puts between the parts of a number: spaces, dots, dashes of any kind.
_SEP = r"[ \t.\-‐‑‒–—_]?"
# In free text: 2 letters, 8–9 digits (the check digit may be missing), and the 2 country
# letters, adjacent in any case or after a separator in capitals (so "EE123456785 is late"
# does not read "IS" as a country); or 13 digits (a domestic number).
_IN_TEXT = re.compile(
    rf"(?<![A-Za-z0-9])("
    rf"[A-Za-z]{{2}}(?:{_SEP}[0-9]){{8,9}}(?:[A-Za-z]{{2}}|{_SEP}[A-Z]{{2}})?"
    rf"|[0-9](?:{_SEP}[0-9]){{12}}"
    rf")(?![A-Za-z0-9])"
)
# A piece of a message that is nothing but a number, typed oddly (the web form's tolerance).
_NUMBERISH = re.compile(r"[A-Z0-9]{9,16}")

# Telegram's command names: 1–32 of a-z, 0-9 and _; we accept them in any case.
_COMMAND = re.compile(r"/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]+))?")
_COMMAND_INTENTS = {
    "start": "help",
    "help": "help",
    "track": "track",
    "subscribe": "subscribe",
    "unsubscribe": "unsubscribe",
}
# The plain words a WeChat user types for the same commands.
_WORDS = (
    ("取消订阅", "unsubscribe"),
    ("退订", "unsubscribe"),
    ("订阅", "subscribe"),
    ("查询", "track"),
    ("unsubscribe", "unsubscribe"),
    ("subscribe", "subscribe"),
    ("track", "track"),
)
_HELP_WORDS = frozenset({"help", "帮助", "?", "？", "h", "菜单", "menu"})


class Verdict(Protocol):
    """Where a sender stands against a limit (the web's `RateState`)."""

    @property
    def allowed(self) -> bool: ...

    @property
    def reset(self) -> int:
        """Seconds until the window ends."""
        ...


class Limits(Protocol):
    """The rate limiter the bots' lookups are paid from: the web server's own `Limiter`, handed
    in by whoever runs the bot, so that a chat and the web share one allowance."""

    def check(self, key: str, limit: str, cost: int = 1) -> Verdict: ...

    def take(self, key: str, limit: str, wanted: int) -> int: ...


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
    found = _COMMAND.fullmatch(head)
    if found is None:
        return Command(None, stripped)
    name, addressee = found.groups()
    if addressee and bot_username and addressee.lower() != bot_username.lstrip("@").lower():
        return Command(None, "")
    return Command(name.lower(), rest.strip())


def language(text: str, channel: str, lang: str | None) -> Lang:
    """The language asked for (a platform's language tag), else Chinese for Chinese text, else
    the channel's."""
    asked = match(lang)
    if asked is not None:
        return asked
    if _CJK.search(text[:MAX_INPUT]):
        return "zh"
    return DEFAULT_LANG.get(channel, "en")


def find_numbers(text: str) -> list[str]:
    """The numbers a message quotes, compact and upper-case, each once, in order.

    A message made only of numbers is split as the web form splits it (commas, lines, spaces
    between whole numbers), so a mistyped number still gets its "did you mean"; otherwise the
    numbers are picked out of the text by shape, with spaces, dots and dashes inside them.
    """
    text = unicodedata.normalize("NFKC", text[:MAX_INPUT])
    found: list[str] = []
    pieces = [s10.normalise(piece) for piece in s10.split_entries(text)]
    if pieces and all(_numberish(piece) for piece in pieces):
        candidates = pieces
    else:
        candidates = [s10.normalise(m.group(1)) for m in _IN_TEXT.finditer(text)]
    for number in candidates:
        if number not in found:
            found.append(number)
    return found


def _numberish(piece: str) -> bool:
    digits = sum(c.isdigit() for c in piece)
    return _NUMBERISH.fullmatch(piece) is not None and digits >= 7 and len(piece) - digits <= 4


def _intent(text: str, bot_username: str | None) -> tuple[str, str] | None:
    """The command a message gives ("help", "track", …, or "" for none) and the rest of it;
    None when it is a command for another bot."""
    stripped = text.strip()
    if stripped.lower().rstrip("!！.。") in _HELP_WORDS:
        return "help", ""
    command = parse_command(stripped, bot_username)
    if command.name is not None:
        return _COMMAND_INTENTS.get(command.name, "unknown"), command.args
    if stripped and not command.args:
        return None  # `/track@OtherBot …`: not ours to answer
    lowered = stripped.lower()
    for word, intent in _WORDS:
        if lowered.startswith(word):
            rest = stripped[len(word) :]
            # "subscribed" or "tracking" are words of a sentence, not commands.
            if word.isascii() and rest[:1].isalpha():
                continue
            return intent, rest
    return "", stripped


@dataclass(frozen=True)
class Bot:
    """What a bot answers with: the database, the lookups, the settings and the limits."""

    db: Database
    tracker: Tracker
    settings: Settings
    limits: Limits


def answer(
    bot: Bot,
    text: str,
    *,
    channel: str,
    user: str,
    lang: str | None,
    sender: str | None = None,
    bot_username: str | None = None,
) -> str | None:
    """The bot's reply to `text` from `user` (an OpenID, a chat id) on `channel`; None when the
    message is a command addressed to another bot than `bot_username`.

    Each number looked up counts one against the limits of `sender` (the person, when not
    `user` itself) and of the channel; over either, the reply says when to try again.
    """
    text = text[:MAX_INPUT]
    words = Words(language(text, channel, lang), channel, bot.settings)
    read = _intent(text, bot_username)
    if read is None:
        return None
    intent, rest = read
    if intent == "help":
        return words.help()
    if intent == "unknown":
        return words.short_help()
    numbers = find_numbers(rest)
    if intent == "unsubscribe":
        return _unsubscribe(bot, numbers, channel, user, words)
    if not numbers:
        return words.subscribe_usage() if intent == "subscribe" else words.short_help()
    numbers, extra = numbers[:MAX_NUMBERS], len(numbers)
    refused = _over_limit(bot, channel, sender or user, len(numbers))
    if refused is not None:
        return words.slow_down(refused.reset)
    lines = [words.too_many(extra)] if extra > MAX_NUMBERS else []
    # "Did you mean" checks against the records tell whether a number exists: the sender's
    # limit pays for them as for lookups; past what is left they are not made.
    key, limit = f"chat:{channel}:{sender or user}", bot.settings.rate_limit_chat
    results = bot.tracker.lookup_many(numbers, allowance=partial(bot.limits.take, key, limit))
    if intent == "subscribe":
        lines.extend(_subscribe(bot, results, channel, user, words))
    else:
        lines.extend(words.result(result) for result in results)
    return "\n\n".join(lines)


def _over_limit(bot: Bot, channel: str, sender: str, cost: int) -> Verdict | None:
    """The limit `cost` lookups would pass, or None when they are allowed (and counted)."""
    # The sender first: a refused sender is not charged to the channel, so one flooding chat
    # cannot spend the allowance of everyone else.
    state = bot.limits.check(f"chat:{channel}:{sender}", bot.settings.rate_limit_chat, cost)
    if state.allowed:
        state = bot.limits.check(f"channel:{channel}", bot.settings.rate_limit_channel, cost)
    return None if state.allowed else state


def _subscribe(
    bot: Bot, results: list[TrackingResult], channel: str, user: str, words: Words
) -> list[str]:
    blocks: list[str] = []
    for result in results:
        if result.outcome is Outcome.INVALID:
            blocks.append(words.result(result))
            continue
        try:
            created = subscriptions.subscribe(
                bot.db,
                bot.settings,
                number=result.number.number,
                channel=channel,
                target=user,
                lang=words.lang,
            )
        except NotConfigured:
            return [words.no_subscriptions()]
        except InputError as exc:
            blocks.append(f"{result.number.number}: {exc.message}")
            continue
        blocks.append(words.subscribed(created.created, result))
    return blocks


def _unsubscribe(bot: Bot, numbers: list[str], channel: str, user: str, words: Words) -> str:
    if not numbers:
        return words.unsubscribed_all(subscriptions.unsubscribe_target(bot.db, channel, user))
    lines = []
    for raw in numbers[:MAX_NUMBERS]:
        number = bot.tracker.parse(raw).number or raw
        ended = subscriptions.unsubscribe_target(bot.db, channel, user, number)
        lines.append(words.unsubscribed(number, bool(ended)))
    return "\n".join(lines)


def short_help(channel: str, settings: Settings, lang: str | None = None) -> str:
    """The few words that answer what the bot cannot read (a picture, a sticker, junk)."""
    return Words(language("", channel, lang), channel, settings).short_help()


def seen_first(db: Database, channel: str, key: str) -> bool:
    """Note a platform's message id as seen; True only the first time (redeliveries: False)."""
    with db.write() as unit:
        return first_sighting(unit, channel, key, datetime.now(UTC))
