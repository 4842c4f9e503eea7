"""What the sender's address or number tells, where the person gives it."""

from __future__ import annotations

import re

from emstrack.scamcheck.domains import Official, registrable
from emstrack.scamcheck.links import lookalike, misspelled
from emstrack.scamcheck.reasons import Reason

WEBMAIL = frozenset(
    {
        "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "yahoo.com",
        "icloud.com", "aol.com", "proton.me", "protonmail.com", "gmx.com", "mail.com",
        "yandex.com", "qq.com", "163.com", "126.com", "sina.com", "sohu.com", "foxmail.com",
        "aliyun.com", "139.com", "yeah.net",
    }
)  # fmt: skip
# China's service senders are short codes (11183, 95xxx) or 106 gateway numbers; an ordinary
# mobile is 11 digits starting 1[3-9]; elsewhere a full international number.
_CN_MOBILE = re.compile(r"(?:\+?86)?1[3-9]\d{9}")
_INTERNATIONAL = re.compile(r"\+\d{8,15}")
_EMAIL = re.compile(r"[^@\s<>]+@([a-z0-9.-]+\.[a-z]{2,})", re.I)


def judge(sender: str, official: Official) -> Reason | None:
    """The sender signal, or None when the sender looks ordinary for a post."""
    value = sender.strip()
    if match := _EMAIL.search(value):
        host = match.group(1).lower()
        domain = registrable(host) or host
        if official.operator_of(domain):
            return None
        if domain in WEBMAIL:
            return Reason("sender_webmail", {"sender": value})
        if brand := lookalike(host, official) or misspelled(domain, official):
            return Reason("sender_lookalike", {"sender": value, "brand": brand})
        return None
    compact = re.sub(r"[\s()-]", "", value)
    if _CN_MOBILE.fullmatch(compact) or _INTERNATIONAL.fullmatch(compact):
        return Reason("sender_phone", {"sender": value})
    return None
