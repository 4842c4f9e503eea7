"""The app's optional sign-in: an e-mailed link instead of a password, and "my items" kept on
the server for whoever signs in with the same address on another device.

An account is a keyed digest of the normalised address (`tokens.account_digest`); the address
itself is used to send the link and then forgotten: it is written to no table, the outbox
included (the mail goes straight to the mail backend, bounded by `app_mail_timeout_seconds`).
A link works once and for `app_sign_in_link_minutes`; following it makes the account if it is
new and gives a session (a signed token of the account and the instant, kept in a cookie by the
web layer). Sessions and links issued before the account's `signed_out_at` are void, and so are
sessions older than the account itself (a list deleted and started again).

Who may ask for a link is not checked (that is what the mail is for), so the mails one address
gets are throttled as confirmation mails are: a few an hour and a day, whoever asks, and quietly
(the answer never tells whether a mail went out).
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from emstrack.config import Settings
from emstrack.domain import s10
from emstrack.domain.lang import Lang
from emstrack.domain.problems import Severity
from emstrack.errors import InputError, NotConfigured
from emstrack.notify import messages, tokens
from emstrack.notify.mail import Mail, MailError
from emstrack.notify.senders import mail_backend
from emstrack.notify.subscriptions import (
    CONFIRMATIONS_PER_DAY,
    CONFIRMATIONS_PER_HOUR,
    check_target,
)
from emstrack.store import accounts
from emstrack.store.accounts import Entry, ItemRow
from emstrack.store.database import Database

log = logging.getLogger(__name__)

#: Longest label of an item, in characters (the column's size).
LABEL_LENGTH = 80
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _ms(moment: datetime) -> int:
    """Milliseconds since the epoch, exactly (the tokens' unit)."""
    return (moment.astimezone(UTC) - _EPOCH) // timedelta(milliseconds=1)


def _secret(settings: Settings) -> str:
    secret = settings.secret_key.get_secret_value()
    if not secret:
        raise NotConfigured(
            "sign_in_unavailable",
            "Signing in is not set up on this server.",
            "The operator must set EMSTRACK_SECRET_KEY (a long random string).",
        )
    return secret


def account_of(settings: Settings, email: str) -> tuple[str, str]:
    """(the address to write to, its account); InputError `bad_email` if it is not one.

    The same rules as e-mail subscriptions; the account is the digest of the address in lower
    case, so that `Li.Lei@Example.cn` and `li.lei@example.cn` are one person.
    """
    address = check_target("email", email, settings)
    return address, tokens.account_digest(_secret(settings), address.lower())


def request_link(
    db: Database, settings: Settings, email: str, lang: Lang, *, now: datetime
) -> Mail | None:
    """The sign-in mail for `email`, or None when its address had its share of mails lately.

    Only the account and the instant are noted (to count the mails); the caller sends the mail.
    """
    address, account = account_of(settings, email)
    with db.write() as unit:
        hour = accounts.mails_since(unit, account, now - timedelta(hours=1))
        day = accounts.mails_since(unit, account, now - timedelta(days=1))
        if hour >= CONFIRMATIONS_PER_HOUR or day >= CONFIRMATIONS_PER_DAY:
            return None
        accounts.note_mail(unit, account, now)
    token = tokens.make_account(_secret(settings), tokens.SIGN_IN, account, issued_ms=_ms(now))
    link = f"{settings.public_url.rstrip('/')}/app/sign-in?token={token}"
    if lang == "zh":
        link += "&lang=zh"
    return messages.sign_in_mail(settings, address, link, lang)


def send(settings: Settings, mail: Mail) -> bool:
    """Send a sign-in mail now, through the configured backend; whether it went.

    A failure is logged without the address (the SMTP backend scrubs it from the server's
    reply) and not retried: the person asks again.
    """
    backend = mail_backend(settings, timeout=settings.app_mail_timeout_seconds)
    try:
        backend.send(mail)
    except MailError as exc:
        log.warning("sign-in mail not sent: %s", exc.message)
        return False
    except ValueError:
        log.warning("sign-in mail not sent: the message was refused before sending")
        return False
    return True


def use_link(db: Database, settings: Settings, token: str, *, now: datetime) -> str:
    """Follow a sign-in link: the new session's token; TokenError saying why it is refused
    (`bad_token`, `expired_token`, `used_token`, `void_token`)."""
    secret = _secret(settings)
    found = tokens.read_account(
        secret,
        tokens.SIGN_IN,
        token,
        max_age=settings.app_sign_in_link_minutes * 60,
        now=now.timestamp(),
    )
    with db.write() as unit:
        row = accounts.account(unit, found.account, lock=True)
        if row is not None and row.signed_out_at and found.issued_ms <= _ms(row.signed_out_at):
            raise tokens.TokenError(
                "void_token",
                "This sign-in link was cancelled when you signed out everywhere.",
                "Ask for a new sign-in link.",
            )
        if not accounts.use_link(unit, tokens.token_digest(token), now):
            raise tokens.TokenError(
                "used_token",
                "This sign-in link has been used already.",
                "Each link works once: ask for a new one.",
            )
        accounts.create_account(unit, found.account, now)
    return tokens.make_account(secret, tokens.APP_SESSION, found.account, issued_ms=_ms(now))


def session(db: Database, settings: Settings, cookie: str | None, *, now: datetime) -> str | None:
    """The account a session cookie signs in, or None (absent, forged, too old, signed out,
    or older than the account)."""
    secret = settings.secret_key.get_secret_value()
    if not secret or not cookie:
        return None
    try:
        found = tokens.read_account(
            secret,
            tokens.APP_SESSION,
            cookie,
            max_age=settings.app_session_days * 86400,
            now=now.timestamp(),
        )
    except tokens.TokenError:
        return None
    with db.read() as unit:
        row = accounts.account(unit, found.account)
    if row is None or found.issued_ms < _ms(row.created_at):
        return None
    if row.signed_out_at is not None and found.issued_ms <= _ms(row.signed_out_at):
        return None
    return found.account


def items(db: Database, account: str) -> list[ItemRow]:
    with db.read() as unit:
        return accounts.items_of(unit, account)


@dataclass(frozen=True, slots=True)
class Wanted:
    """One number to keep, as sent: `label` None leaves an existing label as it is."""

    number: str
    label: str | None = None


@dataclass(frozen=True, slots=True)
class Refused:
    """A number not kept, and why."""

    number: str
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Merged:
    items: list[ItemRow]
    refused: list[Refused]


def clean_label(label: str) -> str | None:
    """A label without control or invisible characters (line breaks become spaces), trimmed;
    None when nothing is left. InputError `label_too_long` past `LABEL_LENGTH`."""
    kept = "".join(
        " " if c.isspace() else c for c in label if c.isspace() or unicodedata.category(c)[0] != "C"
    )
    text = " ".join(kept.split())
    if len(text) > LABEL_LENGTH:
        raise InputError(
            "label_too_long",
            f"A label has at most {LABEL_LENGTH} characters; this one has {len(text)}.",
            "Shorten the label.",
        )
    return text or None


def parse_number(raw: str, settings: Settings) -> str:
    """A tracking number in its normalised form; InputError `invalid_number` naming it."""
    parsed = s10.parse(raw, home_country=settings.home_country)
    if not parsed.valid:
        problem = next(p for p in parsed.problems if p.severity == Severity.ERROR)
        raise InputError("invalid_number", f"{raw}: {problem.message}", "Check the number.")
    return parsed.number


def merge(
    db: Database, settings: Settings, account: str, wanted: Sequence[Wanted], *, now: datetime
) -> Merged:
    """Add the numbers the list lacks and set the labels given; the whole list after, and the
    numbers refused (not valid S10 numbers). Nothing is saved when a label is too long or the
    list would pass `app_max_items` (InputError `label_too_long`, `too_many_items`)."""
    entries: dict[str, Entry] = {}
    refused: list[Refused] = []
    for item in wanted:
        try:
            number = parse_number(item.number, settings)
        except InputError as exc:
            refused.append(Refused(item.number, exc.code, exc.message))
            continue
        if item.label is not None:
            entries[number] = Entry(number, clean_label(item.label), set_label=True)
        elif number not in entries:
            entries[number] = Entry(number)
    with db.write() as unit:
        if accounts.account(unit, account, lock=True) is None:
            raise InputError("not_signed_in", "This list no longer exists.", "Sign in again.")
        have = {row.number for row in accounts.items_of(unit, account)}
        total = len(have | set(entries))
        if total > settings.app_max_items:
            raise InputError(
                "too_many_items",
                f"A list holds at most {settings.app_max_items} items; this would make {total}.",
                "Remove delivered items first.",
            )
        accounts.put_items(unit, account, entries.values(), now)
        kept = accounts.items_of(unit, account)
    return Merged(kept, refused)


def remove(db: Database, settings: Settings, account: str, number: str) -> list[ItemRow]:
    """Take a number off the list (not on it: no change); the list after."""
    normal = parse_number(number, settings)
    with db.write() as unit:
        accounts.remove_item(unit, account, normal)
        return accounts.items_of(unit, account)


def sign_out_everywhere(db: Database, account: str, *, now: datetime) -> None:
    with db.write() as unit:
        accounts.sign_out_everywhere(unit, account, now)


def delete(db: Database, account: str) -> int:
    """Delete the list and the account; how many items it held."""
    with db.write() as unit:
        return accounts.delete_account(unit, account)
