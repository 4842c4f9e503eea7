"""Keeping the platforms' secrets out of logs: httpx logs every request's URL at INFO level,
and the WeChat and Telegram APIs carry secrets in theirs."""

from __future__ import annotations

import logging
import threading

_lock = threading.Lock()
_installed: set[type[logging.Filter]] = set()


def redact_httpx(kind: type[logging.Filter]) -> None:
    """Add a filter of `kind` to httpx's logger, once per process."""
    with _lock:
        if kind not in _installed:
            logging.getLogger("httpx").addFilter(kind())
            _installed.add(kind)
