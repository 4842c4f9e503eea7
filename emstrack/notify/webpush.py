"""Web push: browsers' push subscriptions, and notices sealed and signed for their push services.

A browser that allows notifications gives the app a push subscription: an endpoint URL at its
push service (Google's, Mozilla's, Apple's…) and two keys, `p256dh` (the browser's P-256 public
key) and `auth` (a 16-byte secret). Every notice is encrypted for those keys (RFC 8291,
`aes128gcm`, with `http_ece`) and POSTed to the endpoint with a VAPID signature (RFC 8292, with
`py_vapid`): a JWT of this server's key pair whose audience is the push service's origin. So the
push service sees the endpoint, the sealed bytes, their size and our headers (TTL, urgency, the
item's number as `Topic`), and nothing of what the notice says.

The POST goes through the webhooks' poster (`notify.webhook`): the endpoint is a URL a stranger
chose, so it gets the same guard against reaching into the operator's network (checked when the
subscription is made, and its addresses again at every send) and the same deadline.

A `webpush` subscription's target is the endpoint's id (`store.push.endpoint_id`), one
subscription per number, active at once: the browser's own permission prompt was the consent.
"""

from __future__ import annotations

import base64
import re
import threading
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import http_ece
import httpx
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from py_vapid import Vapid02

from emstrack.config import Settings, unb64url, vapid_private_key, vapid_public_key
from emstrack.domain.lang import lang_of
from emstrack.errors import InputError
from emstrack.notify import subscriptions
from emstrack.notify.webhook import UnsafeURL, check_url_syntax
from emstrack.store.database import Database
from emstrack.store.push import end_endpoint, endpoint_id, save_endpoint
from emstrack.store.subscriptions import SubscriptionRow, end_subscription, subscriptions_of

CHANNEL: Final = "webpush"
#: Why a subscription ended when its push service said the endpoint is no more (404, 410).
GONE: Final = "gone"
#: The longest endpoint stored (the column's size); push services' are about 200 characters.
MAX_ENDPOINT: Final = 1000
#: How long a VAPID signature is good for (RFC 8292 allows at most 24 hours).
SIGNATURE_LIFE: Final = 12 * 3600


def b64url(data: bytes) -> str:
    """Base64url without padding, as the Push API spells keys."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def new_keys() -> tuple[str, str]:
    """A new VAPID key pair: (public, private), each in base64url as the settings take them."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    private = key.private_numbers().private_value.to_bytes(32, "big")
    return b64url(public), b64url(private)


# --- subscriptions ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Browser:
    """A browser's push subscription, checked: the endpoint and its keys in base64url."""

    endpoint: str
    p256dh: str
    auth: str


def check_browser(endpoint: str, p256dh: str, auth: str, settings: Settings) -> Browser:
    """The subscription in its stored form, or InputError saying what is wrong with it."""
    endpoint = endpoint.strip()
    if not endpoint or len(endpoint) > MAX_ENDPOINT:
        raise InputError(
            "bad_endpoint", f"The push endpoint must have 1 to {MAX_ENDPOINT} characters."
        )
    if any(unicodedata.category(c)[0] == "C" or c.isspace() for c in endpoint):
        raise InputError("bad_endpoint", "The push endpoint contains a space or control character.")
    if not endpoint.lower().startswith("https://"):
        raise InputError("bad_endpoint", "The push endpoint must be an https:// URL.")
    try:
        check_url_syntax(endpoint, allow_private=settings.notify_allow_private_urls)
    except UnsafeURL as exc:
        raise InputError("bad_endpoint", exc.message) from None
    key = vapid_public_key(p256dh)
    if key is None:
        raise InputError(
            "bad_keys",
            "`keys.p256dh` must be the browser's P-256 public key: 65 bytes (an uncompressed "
            "point of the curve) in base64url.",
            "Send the subscription exactly as PushSubscription.toJSON() gives it.",
        )
    secret = unb64url(auth.strip())
    if secret is None or len(secret) != 16:
        raise InputError(
            "bad_keys",
            "`keys.auth` must be the subscription's 16-byte secret in base64url.",
            "Send the subscription exactly as PushSubscription.toJSON() gives it.",
        )
    point = key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return Browser(endpoint, b64url(point), b64url(secret))


@dataclass(frozen=True, slots=True)
class Subscribed:
    """What a browser follows after subscribing: its endpoint's id and a row per number asked
    for (with whether it is new)."""

    endpoint_id: str
    rows: list[tuple[SubscriptionRow, bool]]


def _numbers(raw: Sequence[str], settings: Settings) -> list[str]:
    """The numbers in their normal form, or InputError naming the first that is none."""
    numbers = []
    for text in raw:
        try:
            numbers.append(subscriptions.checked_number(text, settings))
        except InputError as exc:
            raise InputError(exc.code, f"{text.strip()}: {exc.message}", exc.hint) from None
    return numbers


def subscribe(
    db: Database,
    settings: Settings,
    browser: Browser,
    numbers: Sequence[str],
    *,
    lang: str = "en",
    timezone: str | None = None,
    now: datetime | None = None,
) -> Subscribed:
    """Follow `numbers` on the browser's endpoint, all or none; the same again changes nothing,
    and numbers followed already and not named stay followed."""
    now = now or datetime.now(UTC)
    wanted = list(dict.fromkeys(_numbers(numbers, settings)))
    language = lang_of(lang)
    zone = subscriptions.checked_zone(timezone, settings)
    with db.write() as unit:
        endpoint = save_endpoint(unit, browser.endpoint, browser.p256dh, browser.auth, now)
        rows = [
            subscriptions.add(
                unit, settings, number, CHANNEL, endpoint.id, language, zone, key_id=None, now=now
            )
            for number in wanted
        ]
    return Subscribed(endpoint.id, rows)


def unsubscribe(
    db: Database,
    settings: Settings,
    endpoint: str,
    numbers: Sequence[str] | None = None,
    *,
    now: datetime | None = None,
) -> int:
    """End the endpoint's subscriptions to `numbers` (None: to every number); how many ended."""
    now = now or datetime.now(UTC)
    wanted = (
        None if numbers is None else {subscriptions.checked_number(n, settings) for n in numbers}
    )
    ended = 0
    with db.write() as unit:
        for row in subscriptions_of(unit, CHANNEL, endpoint_id(endpoint.strip())):
            if wanted is None or row.number in wanted:
                ended += end_subscription(unit, row.number, row.id, "unsubscribed", now)
    return ended


def end_gone(db: Database, target: str, *, now: datetime | None = None) -> int:
    """The push service says the endpoint `target` is no more: mark it ended and end every
    subscription on it (reason `gone`); how many subscriptions ended."""
    now = now or datetime.now(UTC)
    ended = 0
    with db.write() as unit:
        end_endpoint(unit, target, now)
        for row in subscriptions_of(unit, CHANNEL, target):
            ended += end_subscription(unit, row.number, row.id, GONE, now)
    return ended


# --- one notice ------------------------------------------------------------------------------


def seal(payload: bytes, p256dh: str, auth: str) -> bytes:
    """`payload` encrypted for one browser (RFC 8291, aes128gcm, one record), with a key pair
    made for this message alone."""
    receiver = unb64url(p256dh)
    secret = unb64url(auth)
    if receiver is None or secret is None:  # stored checked; a damaged row is our fault
        raise ValueError("the stored push keys are not base64url")
    sealed: bytes = http_ece.encrypt(
        payload,
        private_key=ec.generate_private_key(ec.SECP256R1()),
        dh=receiver,
        auth_secret=secret,
        version="aes128gcm",
    )
    return sealed


def origin(endpoint: str) -> str:
    """The push service's origin, the VAPID signature's audience: scheme, host and port."""
    url = httpx.URL(endpoint)
    return f"{url.scheme}://{url.netloc.decode('ascii')}"


def authorization(endpoint: str, settings: Settings, *, now: float | None = None) -> str:
    """The `Authorization` header of a push to `endpoint`: `vapid t=<JWT>,k=<public key>`."""
    key = vapid_private_key(settings.webpush_private_key.get_secret_value())
    if key is None:
        raise ValueError("web push is not configured")
    issued = int(time.time() if now is None else now)
    # no-strict: the subject was checked with the settings (py_vapid's own check refuses an
    # https: subject with a path, which RFC 8292 allows).
    signer = Vapid02(private_key=key, conf={"no-strict": True})
    claims = {
        "aud": origin(endpoint),
        "exp": issued + SIGNATURE_LIFE,
        "sub": settings.webpush_subject,
    }
    header: str = signer.sign(claims)["Authorization"]
    return header


#: What a push service accepts as `Topic`: at most 32 characters of the base64url alphabet.
_TOPIC = re.compile(r"[A-Za-z0-9_-]{1,32}")


class Signatures:
    """Signatures made lately, by push service: each is used for up to `REUSE` seconds (Apple
    asks that a server not sign more often than once an hour), well within its life."""

    REUSE: Final = 3600.0

    def __init__(self) -> None:
        self._made: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def get(self, endpoint: str, settings: Settings) -> str:
        now = time.time()
        audience = origin(endpoint)
        with self._lock:
            made = self._made.get(audience)
            if made is not None and 0 <= now - made[0] < self.REUSE:
                return made[1]
        header = authorization(endpoint, settings, now=now)
        with self._lock:
            self._made[audience] = (now, header)
        return header


def headers(
    endpoint: str, number: str, settings: Settings, signatures: Signatures | None = None
) -> dict[str, str]:
    """The headers of a push: signed, sealed, how long to keep it, and its topic (the number, so
    that a newer notice about the item replaces one the service still holds)."""
    signed = signatures.get(endpoint, settings) if signatures else authorization(endpoint, settings)
    out = {
        "Authorization": signed,
        "Content-Encoding": "aes128gcm",
        "Content-Type": "application/octet-stream",
        "TTL": str(settings.webpush_ttl_seconds),
        "Urgency": "normal",
    }
    if _TOPIC.fullmatch(number):
        out["Topic"] = number
    return out
