"""What the item page offers around the number: copy it, share the page, follow the item.

- **Copy and share** (`Share`): the number in its compact form (what a form or a chat wants;
  the heading shows it grouped, and copying the heading copies the spaces) and the item page's
  canonical address, `EMSTRACK_PUBLIC_URL` + `/track/NUMBER`. The page shows the number as
  plain text and a plain link to itself; `static/share.js` adds the copy button, and shares
  the canonical address with the Web Share API where the browser has it (else copies it).
- **Follow** (`Follow`): by e-mail (the subscribe form), and where the bots are set up, in
  Telegram (`https://t.me/BOT?start=NUMBER`: pressing Start sends `/start NUMBER`, which
  subscribes, `emstrack.channels.conversation`) and in WeChat (the Official Account's QR code,
  made here as SVG with segno: nothing is loaded from elsewhere, then `订阅 NUMBER`). Offered
  only where following makes sense: subscriptions possible (a secret key) and the item not
  delivered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote

import segno

from emstrack.config import Settings
from emstrack.domain.events import Status
from emstrack.domain.lang import Lang
from emstrack.lookup import Outcome, TrackingResult

#: What Telegram takes as a deep link's start parameter.
_START_PARAMETER = re.compile(r"[A-Za-z0-9_-]{1,64}")
# The words a WeChat user sends to subscribe (emstrack.channels.conversation reads both).
_WECHAT_SUBSCRIBE: dict[Lang, str] = {"en": "subscribe", "zh": "订阅"}


@dataclass(frozen=True, slots=True)
class Share:
    number: str  # compact: EE123456785CN
    url: str  # the item page's canonical address


@dataclass(frozen=True, slots=True)
class Follow:
    telegram_url: str | None
    wechat_qr: str | None  # an SVG `data:` URI
    wechat_account: str | None
    wechat_message: str | None  # what to send once following: "订阅 EE123456785CN"


def share(result: TrackingResult, settings: Settings) -> Share | None:
    """The number to copy and the page to share; None for a number that is not valid."""
    tn = result.number
    if result.outcome is Outcome.INVALID or not tn.valid or not tn.number:
        return None
    base = settings.public_url.rstrip("/")
    return Share(tn.number, f"{base}/track/{quote(tn.number, safe='')}")


def follow(result: TrackingResult, settings: Settings, lang: Lang) -> Follow | None:
    """The ways to follow the item, or None when it cannot be followed (no secret key to sign
    the subscriptions, a delivered item, a number with nothing to follow)."""
    if not settings.secret_key.get_secret_value():
        return None
    moving = result.outcome is Outcome.FOUND and result.status is not Status.DELIVERED
    if not (moving or result.outcome is Outcome.NOT_FOUND_YET):
        return None
    number = result.number.number
    telegram = None
    if (
        settings.telegram_bot_token.get_secret_value()
        and settings.telegram_bot_username
        and _START_PARAMETER.fullmatch(number)
    ):
        telegram = f"https://t.me/{settings.telegram_bot_username}?start={number}"
    qr = None
    if settings.wechat_token.get_secret_value() and settings.wechat_qr_url:
        qr = qr_code(settings.wechat_qr_url)
    return Follow(
        telegram_url=telegram,
        wechat_qr=qr,
        wechat_account=(settings.wechat_account_name or None) if qr else None,
        wechat_message=f"{_WECHAT_SUBSCRIBE[lang]} {number}" if qr else None,
    )


@lru_cache(maxsize=8)
def qr_code(content: str) -> str:
    """`content` as a QR code: an SVG `data:` URI, black on white with the 4-module quiet zone
    scanners need (ISO/IEC 18004), for an `<img>` (the policy allows `data:` images)."""
    code = segno.make(content, error="m", micro=False)
    return str(code.svg_data_uri(scale=4, border=4, dark="#000", light="#fff"))
