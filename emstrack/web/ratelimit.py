"""Rate limits (the `limits` library): in memory, or in Redis shared by several processes.

Fixed windows: cheap (one counter per key and window) and good enough against flooding. When
the storage cannot be reached the request is let through and the failure logged: an outage of
Redis must not take the tracking service down with it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from functools import lru_cache

from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from emstrack.web.security import add_missing_headers

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RateState:
    """Where a key stands against a limit after a hit."""

    allowed: bool
    limit: int
    remaining: int
    reset: int  # seconds until the window ends

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
        }


@lru_cache(maxsize=64)
def _item(limit: str) -> RateLimitItem:
    return parse(limit)


class Limiter:
    """Counts hits per key against limits written like `120/minute`."""

    def __init__(self, redis_url: str = "", namespace: str = "emstrack") -> None:
        self.namespace = namespace
        if redis_url:
            storage = storage_from_string(
                redis_url, wrap_exceptions=True, socket_timeout=0.5, socket_connect_timeout=0.5
            )
        else:
            storage = storage_from_string("memory://", wrap_exceptions=True)
        self.storage = storage
        self._strategy = FixedWindowRateLimiter(storage)

    def check(self, key: str, limit: str, cost: int = 1) -> RateState:
        """Count `cost` hits of `key` and say whether it is still within `limit`."""
        item = _item(limit)
        try:
            allowed = self._strategy.hit(item, self.namespace, key, cost=cost)
            reset_at, remaining = self._strategy.get_window_stats(item, self.namespace, key)
        except StorageError as exc:
            log.warning("rate-limit storage unavailable, letting the request through: %s", exc)
            return RateState(True, item.amount, item.amount, item.get_expiry())
        reset = max(1, round(reset_at - time.time()))
        return RateState(allowed, item.amount, remaining, reset)

    def hit(self, key: str, limit: str) -> tuple[bool, int]:
        """Count one hit: (still allowed?, seconds until the window resets)."""
        state = self.check(key, limit)
        return state.allowed, state.reset


class RateLimitHeaders:
    """Adds the `RateLimit-*` headers of the request's last check (`request.state.ratelimit`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                state = scope.get("state", {}).get("ratelimit")
                if isinstance(state, RateState):
                    pairs = ((n.lower().encode(), v.encode()) for n, v in state.headers().items())
                    add_missing_headers(message, pairs)
            await send(message)

        await self.app(scope, receive, send_with_headers)
