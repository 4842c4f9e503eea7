"""Signed tokens for the links in notices (confirm, unsubscribe), per-subscription secrets, and
the app's sign-in links and sessions.

Nothing here is stored: a token carries what it names and an HMAC of it under the service's
`EMSTRACK_SECRET_KEY`, and a webhook's signing secret is derived from the same key and the
subscription's id. Changing the secret key therefore invalidates every link and every webhook
secret at once — which is also how to revoke them all.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass

from emstrack.errors import InputError, NotConfigured


class TokenError(InputError):
    """A link's token is malformed, forged, or too old."""


CONFIRM = "confirm"
UNSUBSCRIBE = "unsubscribe"
#: A confirmation link works for a week; an unsubscribe link for ever.
CONFIRM_MAX_AGE = 7 * 24 * 3600


def _key(secret: str) -> bytes:
    if not secret:
        raise NotConfigured(
            "subscriptions_unavailable",
            "Notifications are not set up on this server.",
            "The operator must set EMSTRACK_SECRET_KEY (a long random string).",
        )
    return hashlib.sha256(b"emstrack-notify\x00" + secret.encode()).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(key: bytes, body: bytes) -> str:
    mac = hmac.new(key, body, hashlib.sha256).digest()[:18]
    return f"{_b64(body)}.{_b64(mac)}"


def _open(key: bytes, token: str) -> list[str] | None:
    """The `|`-separated fields of a token signed with `key`, or None if it is not one."""
    try:
        body_text, mac_text = token.split(".")
        body, mac = _unb64(body_text), _unb64(mac_text)
        expected = hmac.new(key, body, hashlib.sha256).digest()[:18]
        if not hmac.compare_digest(mac, expected):
            return None
        return body.decode().split("|")
    except (ValueError, UnicodeDecodeError):
        return None


def make(
    secret: str, purpose: str, number: str, subscription_id: str, *, now: int | None = None
) -> str:
    """A token for `purpose` naming one subscription."""
    issued = int(time.time()) if now is None else now
    return _sign(_key(secret), f"{purpose}|{number}|{subscription_id}|{issued}".encode())


def read(
    secret: str, purpose: str, token: str, *, max_age: int | None = None, now: int | None = None
) -> tuple[str, str]:
    """The (number, subscription id) a token names; TokenError if it is not one of ours for
    `purpose`, or older than `max_age` seconds."""
    key = _key(secret)
    bad = TokenError(
        "bad_token",
        "This link is not valid.",
        "Use the latest link you received, or subscribe again from the item's page.",
    )
    fields = _open(key, token)
    try:
        kind, number, subscription_id, issued = fields or []
        issued_at = int(issued)
    except ValueError:
        raise bad from None
    if kind != purpose:
        raise bad
    current = int(time.time()) if now is None else now
    if max_age is not None and current - issued_at > max_age:
        raise TokenError(
            "expired_token",
            "This link has expired.",
            "Subscribe again from the item's page to get a new one.",
        )
    return number, subscription_id


def webhook_secret(secret: str, subscription_id: str) -> str:
    """The key a webhook subscription's notices are signed with (shown once, at creation)."""
    digest = hmac.new(_key(secret), b"webhook|" + subscription_id.encode(), hashlib.sha256)
    return "whsec_" + digest.hexdigest()


# --- the app's accounts (issue 16): sign-in links and sessions ---------------------------------
#
# An account is named by a keyed digest of its e-mail address, never by the address: a token
# carries the digest and the instant it was issued, in milliseconds (a session made just after
# "sign out everywhere" must tell itself apart from one made just before).

SIGN_IN = "sign-in"
APP_SESSION = "app-session"


def account_digest(secret: str, address: str) -> str:
    """The account of a normalised e-mail address: 64 hex digits, an HMAC under the secret key."""
    digest = hmac.new(_key(secret), b"app-account|" + address.encode(), hashlib.sha256)
    return digest.hexdigest()


def token_digest(token: str) -> str:
    """A token's fingerprint, for remembering that a one-time link was used."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class AccountToken:
    """What a sign-in link or a session names: an account, and when it was issued."""

    account: str
    issued_ms: int

    @property
    def issued(self) -> float:
        """The instant it was issued, in seconds since the epoch."""
        return self.issued_ms / 1000


def make_account(secret: str, purpose: str, account: str, *, issued_ms: int | None = None) -> str:
    """A token for `purpose` (SIGN_IN, APP_SESSION) naming `account`, issued at `issued_ms`
    (milliseconds since the epoch; now by default)."""
    issued = int(time.time() * 1000) if issued_ms is None else issued_ms
    return _sign(_key(secret), f"{purpose}|{account}|{issued}".encode())


def read_account(
    secret: str,
    purpose: str,
    token: str,
    *,
    max_age: float | None = None,
    now: float | None = None,
) -> AccountToken:
    """The account a token names; TokenError if it is not one of ours for `purpose`
    (`bad_token`) or older than `max_age` seconds (`expired_token`)."""
    bad = TokenError(
        "bad_token",
        "This sign-in link is not valid.",
        "Copy the whole link from the e-mail, or ask for a new one.",
    )
    fields = _open(_key(secret), token)
    try:
        kind, account, issued = fields or []
        issued_ms = int(issued)
    except ValueError:
        raise bad from None
    if kind != purpose or not account:
        raise bad
    current = time.time() if now is None else now
    if max_age is not None and current - issued_ms / 1000 > max_age:
        raise TokenError(
            "expired_token", "This sign-in link has expired.", "Ask for a new sign-in link."
        )
    return AccountToken(account, issued_ms)
