"""Subscriptions: who is told of an item's moves, and how they start and end.

A subscription ties a tracking number to a channel: a webhook (an operator's URL, created with an
operator key), an e-mail address (active only once its owner follows the confirmation link, so no
one can subscribe someone else's address), a chat user (WeChat OpenID, Telegram chat id: the
platform vouches for who is asking), or a browser's push endpoint (`webpush`: its target is the
endpoint's id, and the browser's permission prompt is the consent; see `notify.webpush`).
Notices then go out on every change of status; the last one, at delivery, ends the
subscription.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from emstrack.config import Settings
from emstrack.domain import s10
from emstrack.domain.lang import Lang, lang_of
from emstrack.domain.problems import Severity
from emstrack.errors import InputError
from emstrack.notify import tokens
from emstrack.notify.webhook import UnsafeURL, check_url_syntax
from emstrack.store import outbox
from emstrack.store.database import Database, Unit
from emstrack.store.subscriptions import (
    SubscriptionRow,
    SubscriptionState,
    add_subscription,
    confirm_subscription,
    current_status,
    end_subscription,
    subscription,
    subscription_by_id,
    subscriptions_of,
)

CHANNELS = ("webhook", "email", "wechat", "telegram", "webpush")
#: Live subscriptions one e-mail address, chat user or push endpoint may hold (webhooks, made
#: with an operator's key, have no such cap).
MAX_PER_TARGET = 100
_EMAIL = re.compile(
    r"^[^@\s<>()\[\],;:\"\\]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251})\.[A-Za-z]{2,63}$"
)


@dataclass(frozen=True, slots=True)
class Created:
    """A subscription as its creator sees it once: with its webhook secret and its links."""

    row: SubscriptionRow
    created: bool  # False: the same subscription existed already, and is returned as it is
    unsubscribe_url: str
    secret: str | None = None  # webhooks: the signing secret, shown only at creation


def checked_number(raw: str, settings: Settings) -> str:
    """A tracking number in its normal form, or InputError `invalid_number`."""
    parsed = s10.parse(raw, home_country=settings.home_country)
    if not parsed.valid:
        problem = next(p for p in parsed.problems if p.severity == Severity.ERROR)
        raise InputError("invalid_number", problem.message, "Check the tracking number.")
    return parsed.number


_REFUSAL: dict[str, tuple[str, str]] = {
    "webhook": ("bad_url", "The webhook URL"),
    "email": ("bad_email", "The e-mail address"),
    "wechat": ("bad_chat", "The WeChat OpenID"),
    "telegram": ("bad_chat", "The Telegram chat id"),
    "webpush": ("bad_endpoint", "The push endpoint's id"),
}


def _invisible(text: str) -> bool:
    """Whether `text` holds a character of Unicode's "other" categories: controls (NUL, C0,
    DEL, C1), format characters (zero-width, bidirectional overrides), surrogates, private-use
    or unassigned code points. None belongs in an address; some make it read as another."""
    return any(unicodedata.category(c)[0] == "C" for c in text)


def check_target(channel: str, target: str, settings: Settings) -> str:
    """The target in its stored form, or InputError saying what is wrong with it."""
    target = target.strip()
    if channel not in CHANNELS:
        raise InputError(
            "bad_channel", f"Unknown channel {channel!r}.", f"Use one of {', '.join(CHANNELS)}."
        )
    if _invisible(target):
        # Never echoed: the refusal names no part of the address.
        code, what = _REFUSAL[channel]
        raise InputError(
            code,
            f"{what} contains a control or invisible character (such as NUL or a zero-width "
            "space).",
            "Type it again rather than pasting it.",
        )
    if channel == "webhook":
        if len(target) > 500:
            raise InputError("bad_url", "The webhook URL is longer than 500 characters.")
        try:
            check_url_syntax(target, allow_private=settings.notify_allow_private_urls)
        except UnsafeURL as exc:
            raise InputError("bad_url", str(exc)) from None
        return target
    if channel == "email":
        if len(target) > 254 or not _EMAIL.match(target):
            raise InputError("bad_email", "That is not an e-mail address we can write to.")
        local, domain = target.rsplit("@", 1)
        return f"{local}@{domain.lower()}"
    if channel == "telegram":
        if not re.fullmatch(r"-?\d{1,20}", target):
            raise InputError("bad_chat", "A Telegram chat id is a number.")
        return target
    if channel == "webpush":
        if not re.fullmatch(r"[0-9a-f]{32}", target):
            raise InputError("bad_endpoint", "A push endpoint's id is 32 hexadecimal digits.")
        return target
    if not target or len(target) > 128 or any(c.isspace() for c in target):
        raise InputError("bad_chat", "A WeChat OpenID has 1 to 128 characters and no spaces.")
    return target


def checked_zone(name: str | None, settings: Settings) -> str:
    """An IANA time zone (the operator's when none is given), or InputError `bad_timezone`."""
    if not name:
        return settings.notify_timezone
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(
            "bad_timezone", f"Unknown time zone {name!r}.", "Use an IANA name such as Europe/Paris."
        ) from None
    return name


def links(settings: Settings, row: SubscriptionRow) -> dict[str, str]:
    """The public links of a subscription: its item's page, unsubscribe, and (pending) confirm."""
    base = settings.public_url.rstrip("/")
    secret = settings.secret_key.get_secret_value()
    out = {
        "page": f"{base}/track/{row.number}",
        "unsubscribe": f"{base}/subscriptions/unsubscribe?token="
        + tokens.make(secret, tokens.UNSUBSCRIBE, row.number, row.id),
    }
    if row.state == SubscriptionState.PENDING:
        out["confirm"] = f"{base}/subscriptions/confirm?token=" + tokens.make(
            secret, tokens.CONFIRM, row.number, row.id
        )
    return out


def subscribe(
    db: Database,
    settings: Settings,
    *,
    number: str,
    channel: str,
    target: str,
    lang: str = "en",
    timezone: str | None = None,
    key_id: int | None = None,
    now: datetime | None = None,
) -> Created:
    """Subscribe `target` to `number` on `channel`; the same request again changes nothing.

    E-mail subscriptions start `pending` and a confirmation mail goes into the outbox in the
    same transaction; the others start `active`.
    """
    # Refuses early when no secret key is set.
    tokens.webhook_secret(settings.secret_key.get_secret_value(), "")
    now = now or datetime.now(UTC)
    number = checked_number(number, settings)
    target = check_target(channel, target, settings)
    lang = lang_of(lang)
    zone = checked_zone(timezone, settings)
    with db.write() as unit:
        row, created = add(
            unit, settings, number, channel, target, lang, zone, key_id=key_id, now=now
        )
    return _created(settings, row, created=created)


def add(
    unit: Unit,
    settings: Settings,
    number: str,
    channel: str,
    target: str,
    lang: Lang,
    zone: str,
    *,
    key_id: int | None,
    now: datetime,
) -> tuple[SubscriptionRow, bool]:
    """`subscribe` in the caller's transaction, on values already checked: the subscription and
    whether it is new (several numbers at once for one target: `notify.webpush`)."""
    live = []
    for row in subscriptions_of(unit, channel, target):
        if row.state == SubscriptionState.PENDING and now - row.created_at > _PENDING_FOR:
            # Never confirmed: its link has expired; it holds no place any more.
            end_subscription(unit, row.number, row.id, "unconfirmed", now)
            continue
        live.append(row)
    for row in live:
        # Only the same caller's: another key must not learn (or end) this one's.
        if row.number == number and row.key_id == key_id:
            if row.state == SubscriptionState.PENDING:
                _send_confirmation(unit, settings, row, now)  # the first may be lost
            return row, False
    if channel != "webhook" and len(live) >= MAX_PER_TARGET:
        raise InputError(
            "too_many_subscriptions",
            f"This {channel} already follows {MAX_PER_TARGET} items.",
            "Unsubscribe from delivered items first.",
        )
    state = SubscriptionState.PENDING if channel == "email" else SubscriptionState.ACTIVE
    row = add_subscription(
        unit,
        number=number,
        channel=channel,
        target=target,
        lang=lang,
        timezone=zone,
        state=state,
        last_status=current_status(unit, number),
        key_id=key_id,
        now=now,
    )
    if state == SubscriptionState.PENDING:
        _send_confirmation(unit, settings, row, now)
    return row, True


#: Confirmation mails one address may be sent, per hour and per day, whoever asks: a stranger
#: cannot flood an inbox through the form or the API from many addresses.
CONFIRMATIONS_PER_HOUR = 3
CONFIRMATIONS_PER_DAY = 10
_PENDING_FOR = timedelta(seconds=tokens.CONFIRM_MAX_AGE)


def _send_confirmation(unit: Unit, settings: Settings, row: SubscriptionRow, now: datetime) -> bool:
    """Queue a confirmation mail unless the address had its share lately (then nothing)."""
    hour = outbox.notices_sent_to(unit, "email", row.target, "confirm", now - timedelta(hours=1))
    day = outbox.notices_sent_to(unit, "email", row.target, "confirm", now - timedelta(days=1))
    if hour >= CONFIRMATIONS_PER_HOUR or day >= CONFIRMATIONS_PER_DAY:
        return False
    outbox.enqueue(unit, row, "confirm", {"number": row.number, **links(settings, row)}, now)
    return True


def _created(settings: Settings, row: SubscriptionRow, *, created: bool) -> Created:
    secret = (
        tokens.webhook_secret(settings.secret_key.get_secret_value(), row.id)
        if row.channel == "webhook"
        else None
    )
    return Created(row, created, links(settings, row)["unsubscribe"], secret if created else None)


def confirm(
    db: Database, settings: Settings, token: str, *, now: datetime | None = None
) -> SubscriptionRow:
    """Activate the pending subscription a confirmation link names (again: no change)."""
    number, sub_id = tokens.read(
        settings.secret_key.get_secret_value(),
        tokens.CONFIRM,
        token,
        max_age=tokens.CONFIRM_MAX_AGE,
    )
    now = now or datetime.now(UTC)
    with db.write() as unit:
        confirm_subscription(unit, number, sub_id, now)
        row = subscription(unit, number, sub_id)
    if row is None:
        raise tokens.TokenError("bad_token", "This subscription no longer exists.")
    return row


def unsubscribe(
    db: Database, settings: Settings, token: str, *, now: datetime | None = None
) -> SubscriptionRow:
    """End the subscription an unsubscribe link names (again: no change)."""
    number, sub_id = tokens.read(settings.secret_key.get_secret_value(), tokens.UNSUBSCRIBE, token)
    return end(db, number, sub_id, "unsubscribed", now=now)


def end(
    db: Database, number: str, sub_id: str, reason: str, *, now: datetime | None = None
) -> SubscriptionRow:
    now = now or datetime.now(UTC)
    with db.write() as unit:
        end_subscription(unit, number, sub_id, reason, now)
        row = subscription(unit, number, sub_id)
    if row is None:
        raise InputError("not_found", "There is no such subscription.")
    return row


def unsubscribe_target(
    db: Database,
    channel: str,
    target: str,
    number: str | None = None,
    *,
    now: datetime | None = None,
) -> list[str]:
    """End a chat user's subscriptions (to one number, or all); the numbers ended."""
    now = now or datetime.now(UTC)
    ended: list[str] = []
    with db.write() as unit:
        for row in subscriptions_of(unit, channel, target):
            if number is None or row.number == number:
                end_subscription(unit, row.number, row.id, "unsubscribed", now)
                ended.append(row.number)
    return ended


def by_id(db: Database, sub_id: str) -> SubscriptionRow | None:
    with db.read() as unit:
        return subscription_by_id(unit, sub_id)
