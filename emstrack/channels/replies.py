"""The bot's brain, shared by WeChat and Telegram: one chat message in, one short answer out.

A message is read as a command (help, subscribe, unsubscribe, track) or as text that quotes
tracking numbers, spelled any way the web form accepts. Anything else gets a short help text:
never an error dump, never the user's long input echoed back. The wording reuses the lookup's
texts (status and event labels, the problems of a number, the pages' translations) where they
exist. The platforms' length limits are applied by their senders (WeChat's `text_reply`
truncates, Telegram's `split_text` splits); the answers here stay compact anyway.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache, partial
from pathlib import Path

from babel.support import NullTranslations, Translations
from sqlalchemy import Engine

from emstrack.channels.telegram import BotAPI, Update
from emstrack.config import Settings
from emstrack.domain import countries, s10
from emstrack.domain.events import Event, status_label
from emstrack.domain.problems import Severity
from emstrack.domain.times import format_offset
from emstrack.errors import InputError
from emstrack.lookup import Outcome, Tracker, TrackingResult
from emstrack.notify import subscriptions
from emstrack.notify.tokens import NotConfigured
from emstrack.store.engine import WRITE
from emstrack.store.notify import first_sighting
from emstrack.text import problems as problem_text
from emstrack.web.ratelimit import Limiter, RateState

log = logging.getLogger(__name__)

#: Numbers looked up per message, as in the scam checker; more are mentioned, not answered.
MAX_NUMBERS = 10
#: Only the start of a message is read: nobody pastes more than this to a tracking bot.
MAX_INPUT = 4000
#: The language a channel answers in when the message gives no hint.
DEFAULT_LANG = {"wechat": "zh", "telegram": "en"}

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

# Commands: Telegram's "/name", and the plain words a WeChat user types.
_SLASH = re.compile(r"/([A-Za-z_]{1,32})(?:@[A-Za-z0-9_]+)?(?=\s|$)")
_SLASH_INTENTS = {
    "start": "help",
    "help": "help",
    "track": "track",
    "subscribe": "subscribe",
    "unsubscribe": "unsubscribe",
}
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


def language(text: str, channel: str, lang: str | None) -> str:
    """ "zh" or "en": the one asked for, else Chinese for Chinese text, else the channel's."""
    if lang:
        tag = lang.strip().lower()
        if tag.startswith("zh"):
            return "zh"
        if tag.startswith("en"):
            return "en"
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


def _intent(text: str) -> tuple[str, str]:
    """The command a message gives ("help", "track", …, or "" for none) and the rest of it."""
    stripped = text.strip()
    if stripped.lower().rstrip("!！.。") in _HELP_WORDS:
        return "help", ""
    slash = _SLASH.match(stripped)
    if slash:
        return _SLASH_INTENTS.get(slash.group(1).lower(), "unknown"), stripped[slash.end() :]
    lowered = stripped.lower()
    for word, intent in _WORDS:
        if lowered.startswith(word):
            rest = stripped[len(word) :]
            # "subscribed" or "tracking" are words of a sentence, not commands.
            if word.isascii() and rest[:1].isalpha():
                continue
            return intent, rest
    return "", stripped


def answer(
    text: str,
    *,
    tracker: Tracker,
    engine: Engine,
    settings: Settings,
    channel: str,
    user: str,
    lang: str | None,
    limiter: Limiter,
    sender: str | None = None,
) -> str:
    """The bot's reply to `text` from `user` (an OpenID, a chat id) on `channel`.

    Each number looked up counts one against the limits of `sender` (the person, when not
    `user` itself) and of the channel; over either, the reply says when to try again.
    """
    text = text[:MAX_INPUT]
    lang = language(text, channel, lang)
    words = _Words(lang, channel, settings)
    intent, rest = _intent(text)
    if intent == "help":
        return words.help()
    if intent == "unknown":
        return words.short_help()
    numbers = find_numbers(rest)
    if intent == "unsubscribe":
        return _unsubscribe(numbers, tracker, engine, channel, user, words)
    if not numbers:
        return words.subscribe_usage() if intent == "subscribe" else words.short_help()
    numbers, extra = numbers[:MAX_NUMBERS], len(numbers)
    refused = _over_limit(limiter, settings, channel, sender or user, len(numbers))
    if refused is not None:
        return words.slow_down(refused.reset)
    lines = [words.too_many(extra)] if extra > MAX_NUMBERS else []
    # "Did you mean" checks against the records tell whether a number exists: the sender's
    # limit pays for them as for lookups; past what is left they are not made.
    checks = partial(limiter.take, f"chat:{channel}:{sender or user}", settings.rate_limit_chat)
    results = tracker.lookup_many(numbers, allowance=checks)
    if intent == "subscribe":
        lines.extend(_subscribe(results, engine, settings, channel, user, words))
    else:
        lines.extend(words.result(result) for result in results)
    return "\n\n".join(lines)


def _over_limit(
    limiter: Limiter, settings: Settings, channel: str, sender: str, cost: int
) -> RateState | None:
    """The limit `cost` lookups would pass, or None when they are allowed (and counted)."""
    # The sender first: a refused sender is not charged to the channel, so one flooding chat
    # cannot spend the allowance of everyone else.
    state = limiter.check(f"chat:{channel}:{sender}", settings.rate_limit_chat, cost)
    if state.allowed:
        state = limiter.check(f"channel:{channel}", settings.rate_limit_channel, cost)
    return None if state.allowed else state


def _subscribe(
    results: list[TrackingResult],
    engine: Engine,
    settings: Settings,
    channel: str,
    user: str,
    words: _Words,
) -> list[str]:
    blocks: list[str] = []
    for result in results:
        if result.outcome is Outcome.INVALID:
            blocks.append(words.result(result))
            continue
        try:
            created = subscriptions.subscribe(
                engine,
                settings,
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


def _unsubscribe(
    numbers: list[str],
    tracker: Tracker,
    engine: Engine,
    channel: str,
    user: str,
    words: _Words,
) -> str:
    if not numbers:
        return words.unsubscribed_all(subscriptions.unsubscribe_target(engine, channel, user))
    lines = []
    for raw in numbers[:MAX_NUMBERS]:
        number = tracker.parse(raw).number or raw
        ended = subscriptions.unsubscribe_target(engine, channel, user, number)
        lines.append(words.unsubscribed(number, bool(ended)))
    return "\n".join(lines)


def short_help(channel: str, settings: Settings, lang: str | None = None) -> str:
    """The few words that answer what the bot cannot read (a picture, a sticker, junk)."""
    return _Words(language("", channel, lang), channel, settings).short_help()


def sorry() -> str:
    """The answer when the look-up itself failed (the database is down): both languages."""
    return (
        "抱歉，暂时无法查询，请稍后再试。\n"
        "Sorry, tracking is not available right now; please try again later."
    )


def welcome() -> str:
    """The greeting to a new follower of the WeChat account, in both languages."""
    return (
        "欢迎！发送邮件号（例如 EE123456785CN）即可查询邮件状态；发送“帮助”查看更多。\n"
        "Welcome! Send a tracking number (e.g. EE123456785CN) to see where your item is; "
        '"help" for more.'
    )


@cache
def _translations(zh: bool) -> NullTranslations:
    # The pages' catalogue (as emstrack.web.i18n loads it, without importing Starlette).
    if not zh:
        return NullTranslations()
    locale_dir = Path(__file__).parent.parent / "locale"
    return Translations.load(str(locale_dir), ["zh_Hans"], domain="messages")


class _Words:
    """The sentences of one answer, in one language, for one channel."""

    def __init__(self, lang: str, channel: str, settings: Settings) -> None:
        self.lang = lang
        self.zh = lang == "zh"
        self.telegram = channel == "telegram"
        self.settings = settings
        self._t = _translations(self.zh)

    def _pick(self, en: str, zh: str) -> str:
        return zh if self.zh else en

    def _link(self, number: str) -> str:
        return f"{self.settings.public_url.rstrip('/')}/track/{number}"

    def _command(self, name: str) -> str:
        if self.telegram:
            return f"/{name}"
        return {"subscribe": "订阅", "unsubscribe": "退订"}[name] if self.zh else name

    def short_help(self) -> str:
        return self._pick(
            'Send a tracking number such as EE123456785CN. "help" for more.',
            "请发送邮件号，例如 EE123456785CN。发送“帮助”查看更多。",
        )

    def help(self) -> str:
        sub, unsub = self._command("subscribe"), self._command("unsubscribe")
        if self.zh:
            return (
                f"发送邮件号（例如 EE123456785CN）查询邮件状态，每条消息最多 {MAX_NUMBERS} 个。\n"
                f"{sub} 邮件号：状态变化时通知您\n"
                f"{unsub} 邮件号：取消通知（不带邮件号：全部取消）\n"
                f"网页：{self.settings.public_url}"
            )
        return (
            f"Send a tracking number (e.g. EE123456785CN) to see where your item is; up to "
            f"{MAX_NUMBERS} per message.\n"
            f"{sub} NUMBER: a message at each change of status\n"
            f"{unsub} NUMBER: stop them (without a number: all)\n"
            f"Web: {self.settings.public_url}"
        )

    def subscribe_usage(self) -> str:
        sub = self._command("subscribe")
        return self._pick(
            f"Send {sub} followed by the tracking number, e.g. {sub} EE123456785CN.",
            f"请发送“{sub}”加邮件号，例如：{sub} EE123456785CN",
        )

    def too_many(self, count: int) -> str:
        return self._pick(
            f"You sent {count} numbers; here are the first {MAX_NUMBERS}. "
            "Send the others in another message.",
            f"您发送了 {count} 个号码，以下是前 {MAX_NUMBERS} 个的结果；其余请另发消息查询。",
        )

    def slow_down(self, seconds: int) -> str:
        if seconds < 120:
            wait = self._pick(f"{seconds} seconds", f"{seconds} 秒")
        elif seconds < 120 * 60:
            minutes = -(-seconds // 60)
            wait = self._pick(f"{minutes} minutes", f"{minutes} 分钟")
        else:
            hours = -(-seconds // 3600)
            wait = self._pick(f"{hours} hours", f"{hours} 小时")
        return self._pick(
            f"Too many lookups; please try again in {wait}.", f"查询过于频繁，请 {wait}后再试。"
        )

    def no_subscriptions(self) -> str:
        return self._pick(
            "Notifications are not set up on this server.", "本服务器未开启状态变化通知。"
        )

    def subscribed(self, created: bool, result: TrackingResult) -> str:
        number = result.number.number
        if created:
            head = self._pick(
                f"Subscribed: you will get a message when {number} changes status.",
                f"已订阅：{number} 状态变化时将通知您。",
            )
        else:
            head = self._pick(f"You are already subscribed to {number}.", f"您已订阅 {number}。")
        return head + "\n" + self.result(result)

    def unsubscribed(self, number: str, ended: bool) -> str:
        if ended:
            return self._pick(f"Unsubscribed from {number}.", f"已退订 {number}。")
        return self._pick(f"You were not subscribed to {number}.", f"您没有订阅 {number}。")

    def unsubscribed_all(self, ended: list[str]) -> str:
        if not ended:
            return self._pick("You have no subscriptions.", "您没有任何订阅。")
        return self._pick(
            f"Unsubscribed from {len(ended)} item(s): {', '.join(ended)}.",
            f"已退订 {len(ended)} 件邮件：{'、'.join(ended)}。",
        )

    def result(self, result: TrackingResult) -> str:
        """One number's block: number, status in plain words, latest event, page link."""
        tn = result.number
        if result.outcome is Outcome.INVALID:
            return self._invalid(result)
        lines = [tn.number]
        if result.outcome is Outcome.FOUND and result.status is not None:
            lines.append(status_label(result.status, self.lang))
            if result.events:
                # A chat is public: the place without postcodes (emstrack.domain.places).
                lines.append(self._event(result.projection().event(result.events[0])))
        elif result.outcome is Outcome.NOT_FOUND_YET:
            hours = self.settings.first_scan_grace_hours
            lines.append(
                self._pick(
                    f"Valid, no scan yet; first scans often appear 24–{hours} h after posting.",
                    f"号码有效，暂无扫描记录；首次扫描通常在交寄后 24–{hours} 小时内出现。",
                )
            )
        else:
            lines.append(self._t.gettext("No record: it may belong to another carrier"))
        lines.append(self._link(tn.number))
        return "\n".join(lines)

    def _event(self, event: Event) -> str:
        when = event.occurred_local.strftime("%Y-%m-%d %H:%M")
        offset = format_offset(event.utc_offset_min)
        when += f" ({offset})" if offset else self._pick(" (local time)", "（当地时间）")
        country = countries.country_name(event.country, self.lang) if event.country else None
        office = event.office_name or event.office_code
        place = ", ".join(p for p in (office, country) if p)
        return " · ".join(p for p in (when, place, event.label(self.lang)) if p)

    def _invalid(self, result: TrackingResult) -> str:
        tn = result.number
        errors = [p for p in tn.problems if p.severity == Severity.ERROR]
        said = " ".join(problem_text.text(p, "zh" if self.zh else "en") for p in errors[:2])
        shown = (tn.number or tn.raw)[:20]  # never echo a long input
        head = self._pick(f"{shown}: not a valid tracking number.", f"{shown}：邮件号无效。")
        lines = [(head + said if self.zh else f"{head} {said}").strip()]
        meant = [s.number for s in tn.suggestions if s.on_record or not s.needs_record][:3]
        if meant:
            lines.append(
                self._pick(
                    f"Did you mean {' or '.join(meant)}?", f"您是不是要查 {' 或 '.join(meant)}？"
                )
            )
            lines.append(self._link(meant[0]))
        return "\n".join(lines)


def seen_first(engine: Engine, channel: str, key: str) -> bool:
    """Note a platform's message id as seen; True only the first time (redeliveries: False)."""
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        return first_sighting(conn, channel, key, datetime.now(UTC))


def telegram_handler(
    *, settings: Settings, engine: Engine, tracker: Tracker, api: BotAPI, limiter: Limiter
) -> Callable[[Update], None]:
    """What to do with one Telegram update, for the webhook and for polling alike.

    A redelivered update (same `update_id`) is ignored; an update without a chat or text asks
    for nothing. A failed send raises TelegramError: the webhook logs it and still answers 200,
    polling logs it and moves on, so a user is never answered twice.
    """

    def handle(update: Update) -> None:
        if update.chat_id is None or not update.text or not update.text.strip():
            return
        if not seen_first(engine, "telegram", f"update:{update.update_id}"):
            return
        try:
            reply = answer(
                update.text,
                tracker=tracker,
                engine=engine,
                settings=settings,
                channel="telegram",
                user=str(update.chat_id),
                lang=update.language_code,
                limiter=limiter,
                # The person, in a group too; a chat without a sender counts as one.
                sender=str(update.user_id if update.user_id is not None else update.chat_id),
            )
        except Exception:
            log.exception("telegram: answering update %d failed", update.update_id)
            reply = sorry()
        api.send_message(update.chat_id, reply)

    return handle
