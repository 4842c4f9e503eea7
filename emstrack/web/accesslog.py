"""Secrets in query strings kept out of the server's access log.

Links in notices carry signed tokens (`?token=`: an unsubscribe link works for ever) and the
WeChat callbacks carry signatures (`signature`, `msg_signature`, `echostr`): uvicorn writes
every request's path and query to its access log, where they must not be readable. A message
pasted into the Track box by an old form or a hand-made link (`/track?n=Your parcel…`, or a long
`/track/…`) is redirected to its numbers, but its first request is logged: what is more than
tracking numbers there is replaced by `***` too.
"""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import unquote_plus

_SECRET_PARAMS = re.compile(r"(?<=[?&])(token|signature|msg_signature|echostr)=[^&\s]*")
# What the Track box sends: `?n=` / `?numbers=`, or the path after /track/.
_NUMBERS_PARAM = re.compile(r"(?<=[?&])(n|numbers)=([^&\s]*)")
_TRACK_PATH = re.compile(r"^(/track/)([^?\s]*)")
# A tracking number as people type it: letters, digits, dots and dashes, mostly digits.
_NUMBERISH = re.compile(r"[A-Za-z0-9.\-]{9,24}")
_SEPARATORS = re.compile(r"[\s,;/]+")
_LISTED = re.compile(r"[,;/\n]+")


def _numberish(piece: str) -> bool:
    return bool(_NUMBERISH.fullmatch(piece)) and sum(c.isdigit() for c in piece) >= 7


def _only_numbers(encoded: str) -> bool:
    """True when the value is tracking numbers only, split by spaces and commas or grouped with
    spaces inside ("EE 123 456 785 CN")."""
    value = unquote_plus(encoded)
    if len(value) > 1200:
        return False
    spaced = [p for p in _SEPARATORS.split(value) if p]
    grouped = [p.replace(" ", "") for p in _LISTED.split(value) if p.strip()]
    return all(map(_numberish, spaced)) or all(map(_numberish, grouped))


def _redact(text: str) -> str:
    text = _SECRET_PARAMS.sub(r"\1=***", text)
    text = _NUMBERS_PARAM.sub(
        lambda m: m.group(0) if _only_numbers(m.group(2)) else f"{m.group(1)}=***", text
    )
    return _TRACK_PATH.sub(
        lambda m: m.group(0) if _only_numbers(m.group(2)) else f"{m.group(1)}***", text
    )


class RedactQuery(logging.Filter):
    """Replace the values of secret query parameters in uvicorn's access-log records."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _redact(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True


_lock = threading.Lock()
_installed = False


def install() -> None:
    """Add the filter to uvicorn's access logger, once per process."""
    global _installed
    with _lock:
        if not _installed:
            logging.getLogger("uvicorn.access").addFilter(RedactQuery())
            _installed = True
