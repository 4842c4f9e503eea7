"""Secrets in query strings kept out of the server's access log.

Links in notices carry signed tokens (`?token=`: an unsubscribe link works for ever) and the
WeChat callbacks carry signatures (`signature`, `msg_signature`, `echostr`): uvicorn writes
every request's path and query to its access log, where they must not be readable.
"""

from __future__ import annotations

import logging
import re
import threading

_SECRET_PARAMS = re.compile(r"(?<=[?&])(token|signature|msg_signature|echostr)=[^&\s]*")


class RedactQuery(logging.Filter):
    """Replace the values of secret query parameters in uvicorn's access-log records."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _SECRET_PARAMS.sub(r"\1=***", arg) if isinstance(arg, str) else arg
                for arg in record.args
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
