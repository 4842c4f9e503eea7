"""The conversation both bots hold, WeChat's and Telegram's: one chat message in, one answer out.

A message is read as a command (help, subscribe, unsubscribe, list, track) or as text that quotes
tracking numbers, spelled any way the web form accepts. Text that is more than numbers, a message
pasted or forwarded to ask "is this really from the post?", is checked by `scamcheck` as on the
web page `/check` (see `reading`), and its numbers are tracked as usual. Anything else gets a
short help text: never an error dump, never the user's long input echoed back. The sentences are in
`emstrack.channels.wording`; the platforms' length limits are applied by their senders (WeChat's
`text_reply` truncates, Telegram's `split_text` splits), and the answers stay compact anyway.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from functools import partial
from typing import Protocol

from emstrack import scamcheck
from emstrack.channels.wording import HANDOVER_UP_TO, MAX_NUMBERS, Words
from emstrack.config import Settings
from emstrack.domain import s10
from emstrack.domain.lang import Lang, match
from emstrack.errors import InputError, NotConfigured
from emstrack.lookup import Allowance, Outcome, Tracker, TrackingResult
from emstrack.notify import subscriptions
from emstrack.scamcheck import links
from emstrack.scamcheck import numbers as quoted
from emstrack.store.channel_seen import first_sighting
from emstrack.store.database import Database
from emstrack.store.subscriptions import subscriptions_of

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
    "start": "start",
    "help": "help",
    "track": "track",
    "subscribe": "subscribe",
    "unsubscribe": "unsubscribe",
    "list": "list",
}
# The plain words a WeChat user types for the same commands ("我的订阅" is also the menu's).
_WORDS = (
    ("取消订阅", "unsubscribe"),
    ("退订", "unsubscribe"),
    ("我的订阅", "list"),
    ("订阅列表", "list"),
    ("订阅", "subscribe"),
    ("查询", "track"),
    ("unsubscribe", "unsubscribe"),
    ("subscribe", "subscribe"),
    ("track", "track"),
    ("list", "list"),
)
_HELP_WORDS = frozenset({"help", "帮助", "?", "？", "h", "菜单", "menu"})

# What is left of a message once its numbers are taken out: ideographs, and words of letters.
_IDEOGRAPH = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[^\W\d_]+")
# A link, or the placeholder a published warning puts where the link was ("[link]", "[链接]").
_LINKISH = re.compile(
    r"https?://|www\.|[\[<【(（]\s*(?:link|url|链接|鏈接|连结|連結|网址|網址)[^\]>】)）]{0,20}[\]>】)）]",
    re.I,
)


class Reading(IntEnum):
    """How a plain-text message is read: as numbers, or as a message to check as well.

    A forwarded message, or a text with a link (or a link's placeholder: "[link]", "[链接]") is
    a MESSAGE: checked, its verdict always shown, then its numbers tracked. Otherwise its
    tracking numbers are taken out and what is left is counted: fewer than `SHORT_WORDS` words
    and `SHORT_IDEOGRAPHS` Chinese characters is PLAIN ("EE123456785 is late", "hello"), read
    as it always was. `MESSAGE_WORDS` words or `MESSAGE_IDEOGRAPHS` characters, not in the first
    person, is a MESSAGE (a notice speaks to "you", "您"). Anything between, or in the first
    person ("where is EE123456785CN please", "我的邮件到哪了", a long question about one's own
    parcel), is SHORT: a question as often as a scam. Its words (without the numbers, which a
    person asking about their own item would only find "not on record") are checked, and only
    when they carry a sign of a scam is it answered as a MESSAGE; otherwise as PLAIN.
    """

    PLAIN = 0
    SHORT = 1
    MESSAGE = 2


SHORT_WORDS, SHORT_IDEOGRAPHS = 3, 6
MESSAGE_WORDS, MESSAGE_IDEOGRAPHS = 6, 10
# "I", "my", "我" (not "我们", "我司": the "we" of a notice, real or not).
_FIRST_PERSON = re.compile(r"\b(?:i|i'm|i've|me|my|mine)\b|我(?![们們司])", re.I)


def reading(text: str, *, forwarded: bool = False) -> Reading:
    """How `text` (plain text, not a command) is read: see `Reading`."""
    text = unicodedata.normalize("NFKC", text[:MAX_INPUT])
    pieces = [s10.normalise(piece) for piece in s10.split_entries(text)]
    if pieces and all(_numberish(piece) for piece in pieces):
        return Reading.PLAIN  # numbers only, however typed: forwarded or not
    rest = _without_numbers(text)  # so that "EE.123.456.785.CN" is no host name
    if forwarded and text.strip():
        return Reading.MESSAGE
    if _LINKISH.search(rest) or next(links.hosts(rest), None) is not None:
        return Reading.MESSAGE
    ideographs = len(_IDEOGRAPH.findall(rest))
    words = len(_WORD.findall(_IDEOGRAPH.sub(" ", rest)))
    if words < SHORT_WORDS and ideographs < SHORT_IDEOGRAPHS:
        return Reading.PLAIN
    long = words >= MESSAGE_WORDS or ideographs >= MESSAGE_IDEOGRAPHS
    return Reading.MESSAGE if long and not _FIRST_PERSON.search(rest) else Reading.SHORT


def _without_numbers(text: str) -> str:
    return _IN_TEXT.sub(" ", unicodedata.normalize("NFKC", text))


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
            # Nor is "Track your parcel: https://…", the start of a pasted message.
            if reading(rest) is Reading.MESSAGE:
                break
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
    forwarded: bool = False,
) -> str | None:
    """The bot's reply to `text` from `user` (an OpenID, a chat id) on `channel`; None when the
    message is a command addressed to another bot than `bot_username`.

    Each number looked up counts one against the limits of `sender` (the person, when not
    `user` itself) and of the channel, and a message checked at least one (as on the web); over
    either limit, the reply says when to try again. A `forwarded` message is checked unless it
    is only numbers, and holds no command.
    """
    text = text[:MAX_INPUT]
    words = Words(language(text, channel, lang), channel, bot.settings)
    read = ("", text.strip()) if forwarded else _intent(text, bot_username)
    if read is None:
        return None
    intent, rest = read
    if intent == "start":
        intent = _started(bot, rest)
    if intent == "help":
        return words.help()
    if intent == "unknown":
        return words.short_help()
    if intent == "list":
        return followed(bot, channel=channel, user=user, words=words)
    numbers = find_numbers(rest)
    if intent == "unsubscribe":
        return _unsubscribe(bot, numbers, channel, user, words)
    if intent == "" and _to_check(bot, rest, forwarded):
        return _checked(bot, rest, numbers, words, channel, sender or user)
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
        detail = len(results) <= HANDOVER_UP_TO
        lines.extend(words.result(result, handover=detail) for result in results)
    return "\n\n".join(lines)


def _started(bot: Bot, payload: str) -> str:
    """What `/start PAYLOAD` asks for. The item page's "Follow in Telegram" link,
    `t.me/BOT?start=NUMBER`, sends `/start NUMBER` when the person presses Start: that is a
    subscription to the number, as `/subscribe NUMBER` (its answer gives the status too), or,
    where notifications are not set up (no secret key), its status. `/start` alone, or with
    anything but a number, is the help."""
    if not find_numbers(payload):
        return "help"
    return "subscribe" if bot.settings.secret_key.get_secret_value() else "track"


def _to_check(bot: Bot, text: str, forwarded: bool) -> bool:
    """Whether plain `text` is answered with the check's verdict (see `Reading`)."""
    level = reading(text, forwarded=forwarded)
    if level is not Reading.SHORT:
        return level is Reading.MESSAGE
    # Without lookups, so costing nothing: the words alone.
    probe = scamcheck.check(
        _without_numbers(text),
        None,
        official_domains=bot.settings.official_domain_list,
        hotlines=bot.settings.brand.hotline_numbers,
        names=bot.settings.brand.names,
    )
    return probe.verdict is not scamcheck.Verdict.NO_RED_FLAGS


def _checked(
    bot: Bot, text: str, numbers: list[str], words: Words, channel: str, sender: str
) -> str:
    """The check's answer to a pasted message, then its numbers tracked (see `Reading`).

    It costs what the web charges, one per valid number the check looks up and at least one,
    with the numbers tracked besides; each number is looked up once for both.
    """
    tracked, extra = numbers[:MAX_NUMBERS], len(numbers)
    cost = max(1, len(dict.fromkeys([*tracked, *_quoted(text)])))
    refused = _over_limit(bot, channel, sender, cost)
    if refused is not None:
        return words.slow_down(refused.reset)
    key, limit = f"chat:{channel}:{sender}", bot.settings.rate_limit_chat
    lookup = _LookUpOnce(bot.tracker, partial(bot.limits.take, key, limit))
    result = scamcheck.check(
        text,
        None,
        lookup=lookup,
        official_domains=bot.settings.official_domain_list,
        hotlines=bot.settings.brand.hotline_numbers,
        names=bot.settings.brand.names,
    )
    blocks = [words.check(result)]
    if extra > MAX_NUMBERS:
        blocks.append(words.too_many(extra))
    found = lookup(tracked)
    blocks.extend(words.result(one, handover=len(found) <= HANDOVER_UP_TO) for one in found)
    return "\n\n".join(blocks)


def _quoted(text: str) -> list[str]:
    """The numbers `scamcheck.check` looks up in `text`: the valid ones it finds."""
    found = (s10.parse(raw) for raw in quoted.candidates(text[: scamcheck.MAX_TEXT]))
    return [tn.number for tn in found if tn.valid]


class _LookUpOnce:
    """`Tracker.lookup_many` remembering its answers, so that the numbers the check looks up
    are not looked up (nor paid for) again when they are tracked."""

    def __init__(self, tracker: Tracker, allowance: Allowance) -> None:
        self._tracker = tracker
        self._allowance = allowance
        self._found: dict[str, TrackingResult] = {}

    def __call__(self, numbers: Sequence[str]) -> list[TrackingResult]:
        missing = [n for n in dict.fromkeys(numbers) if n not in self._found]
        if missing:
            results = self._tracker.lookup_many(missing, allowance=self._allowance)
            self._found.update(zip(missing, results, strict=True))
        return [self._found[n] for n in numbers]


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


def followed(bot: Bot, *, channel: str, user: str, words: Words) -> str:
    """The items `user` follows on `channel` ("我的订阅", `/list`, the WeChat menu's button):
    where each is now, for the first `MAX_NUMBERS` (looked up and paid for as lookups are; past
    the limit, the reply says when to try again), the others by number; and how to stop."""
    with bot.db.read() as unit:
        numbers = list(dict.fromkeys(row.number for row in subscriptions_of(unit, channel, user)))
    if not numbers:
        return words.following_nothing()
    shown, more = numbers[:MAX_NUMBERS], numbers[MAX_NUMBERS:]
    refused = _over_limit(bot, channel, user, len(shown))
    if refused is not None:
        return words.slow_down(refused.reset)
    key, limit = f"chat:{channel}:{user}", bot.settings.rate_limit_chat
    results = bot.tracker.lookup_many(shown, allowance=partial(bot.limits.take, key, limit))
    return words.following(results, more)


def short_help(channel: str, settings: Settings, lang: str | None = None) -> str:
    """The few words that answer what the bot cannot read (a picture, a sticker, junk)."""
    return Words(language("", channel, lang), channel, settings).short_help()


def seen_first(db: Database, channel: str, key: str) -> bool:
    """Note a platform's message id as seen; True only the first time (redeliveries: False)."""
    with db.write() as unit:
        return first_sighting(unit, channel, key, datetime.now(UTC))
