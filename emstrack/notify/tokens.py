"""Signed tokens for the links in notices (confirm, unsubscribe) and per-subscription secrets.

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


def make(
    secret: str, purpose: str, number: str, subscription_id: str, *, now: int | None = None
) -> str:
    """A token for `purpose` naming one subscription."""
    issued = int(time.time()) if now is None else now
    body = f"{purpose}|{number}|{subscription_id}|{issued}".encode()
    mac = hmac.new(_key(secret), body, hashlib.sha256).digest()[:18]
    return f"{_b64(body)}.{_b64(mac)}"


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
    try:
        body_text, mac_text = token.split(".")
        body, mac = _unb64(body_text), _unb64(mac_text)
        expected = hmac.new(key, body, hashlib.sha256).digest()[:18]
        if not hmac.compare_digest(mac, expected):
            raise bad
        kind, number, subscription_id, issued = body.decode().split("|")
        issued_at = int(issued)
    except (ValueError, UnicodeDecodeError):
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
