"""Rate limits (the `limits` library): in memory, or in Redis shared by several processes.

Fixed windows: cheap (one counter per key and window) and good enough against flooding. When
the storage cannot be reached, a lookup is let through and the failure logged (at most once a
minute): an outage of Redis must not take the tracking service down with it. A limit that guards
a secret (the postcode proof, an operator's key) asks for `strict=True` instead and is refused
with `LimitUnavailable`: an outage must never mean unlimited guesses.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from functools import lru_cache

from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from emstrack.errors import LimitError
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


class _Windows:
    """Fixed windows in this process's memory, as `limits`' memory storage keeps them.

    The same counts: a window opens at a key's first hit and lasts the limit's period. But
    `limits` starts a thread to expire keys every 10 ms while hits come in (at a thousand
    requests a second, a hundred threads a second) and takes a lock per key; this is one
    dictionary under one lock, and expired windows are swept now and then on the way.
    """

    #: Seconds between sweeps of expired windows (they are also replaced on their next hit).
    SWEEP_EVERY = 60.0

    def __init__(self) -> None:
        self._windows: dict[tuple[str, str], list[float]] = {}  # -> [ends at, hits]
        self._lock = threading.Lock()
        self._sweep_at = time.time() + self.SWEEP_EVERY

    def hit(self, key: str, limit: str, cost: int) -> RateState:
        item = _item(limit)
        now = time.time()
        with self._lock:
            # Per key and limit, as `limits` counts them (its keys name the limit too).
            window = self._windows.get((key, limit))
            if window is None or window[0] <= now:
                if now >= self._sweep_at:
                    self._sweep(now)
                window = self._windows[(key, limit)] = [now + item.get_expiry(), 0]
            window[1] += cost
            ends_at, hits = window
        allowed = hits <= item.amount
        remaining = max(0, item.amount - int(hits))
        return RateState(allowed, item.amount, remaining, max(1, round(ends_at - now)))

    def take(self, key: str, limit: str, wanted: int) -> int:
        """Count up to `wanted` hits, as many as the window has left; how many were counted."""
        item = _item(limit)
        now = time.time()
        with self._lock:
            window = self._windows.get((key, limit))
            if window is None or window[0] <= now:
                window = self._windows[(key, limit)] = [now + item.get_expiry(), 0]
            granted = max(0, min(wanted, item.amount - int(window[1])))
            window[1] += granted
        return granted

    def refund(self, key: str, limit: str, cost: int) -> None:
        """Take back `cost` hits of the window still open, if any."""
        with self._lock:
            window = self._windows.get((key, limit))
            if window is not None and window[0] > time.time():
                window[1] = max(0, window[1] - cost)

    def _sweep(self, now: float) -> None:
        expired = [key for key, (ends_at, _) in self._windows.items() if ends_at <= now]
        for key in expired:
            del self._windows[key]
        self._sweep_at = now + self.SWEEP_EVERY


class LimitUnavailable(LimitError):
    """A strict limit could not be checked because its counters cannot be reached."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "rate_limit_unavailable",
            "The request cannot be counted against its limit right now",
            retry_after,
            f"Please try again in {retry_after} seconds.",
        )


class Limiter:
    """Counts hits per key against limits written like `120/minute`."""

    #: Seconds between two warnings that the counters cannot be reached (one per outage-minute,
    #: not one per request).
    WARN_EVERY = 60.0
    #: Seconds a client refused by a strict limit during an outage is asked to wait.
    RETRY_AFTER = 10

    def __init__(self, redis_url: str = "", namespace: str = "emstrack") -> None:
        self.namespace = namespace
        self._windows: _Windows | None = None
        self._strategy: FixedWindowRateLimiter | None = None
        self._warned_at = -self.WARN_EVERY
        if redis_url:
            storage = storage_from_string(
                redis_url, wrap_exceptions=True, socket_timeout=0.5, socket_connect_timeout=0.5
            )
            self._strategy = FixedWindowRateLimiter(storage)
        else:
            self._windows = _Windows()

    def check(self, key: str, limit: str, cost: int = 1, *, strict: bool = False) -> RateState:
        """Count `cost` hits of `key` and say whether it is still within `limit`.

        When the counters cannot be reached the hits are let through, unless `strict`: then
        `LimitUnavailable` is raised.
        """
        if self._windows is not None:
            return self._windows.hit(key, limit, cost)
        assert self._strategy is not None
        item = _item(limit)
        try:
            allowed = self._strategy.hit(item, self.namespace, key, cost=cost)
            reset_at, remaining = self._strategy.get_window_stats(item, self.namespace, key)
        except StorageError as exc:
            self._unreachable(exc, "refusing" if strict else "letting the request through")
            if strict:
                raise LimitUnavailable(self.RETRY_AFTER) from exc
            return RateState(True, item.amount, item.amount, item.get_expiry())
        reset = max(1, round(reset_at - time.time()))
        return RateState(allowed, item.amount, remaining, reset)

    def take(self, key: str, limit: str, wanted: int) -> int:
        """Count as many of `wanted` hits as `limit` has left for `key`, and say how many.

        Never refuses and never goes over the limit: for work that can be cut short (checking
        "did you mean" candidates) rather than refused. Nothing is granted when the counters
        cannot be reached.
        """
        if wanted <= 0:
            return 0
        if self._windows is not None:
            return self._windows.take(key, limit, wanted)
        assert self._strategy is not None
        item = _item(limit)
        name = item.key_for(self.namespace, key)
        storage = self._strategy.storage
        try:
            # Redis has no "add up to": add all, then give back what went over. Between the two
            # another request may see the counter briefly too high, never too low.
            over = min(wanted, max(0, storage.incr(name, item.get_expiry(), wanted) - item.amount))
            if over:
                storage.incr(name, item.get_expiry(), -over)
        except StorageError as exc:
            self._unreachable(exc, "granting nothing")
            return 0
        return wanted - over

    def refund(self, key: str, limit: str, cost: int = 1) -> None:
        """Take back `cost` hits of `key`'s current window (a try that turned out not to count)."""
        if self._windows is not None:
            self._windows.refund(key, limit, cost)
            return
        assert self._strategy is not None
        item = _item(limit)
        name = item.key_for(self.namespace, key)
        storage = self._strategy.storage
        try:
            # Not into a window that has ended: a negative count would open the next one early.
            if storage.get(name) >= cost:
                storage.incr(name, item.get_expiry(), -cost)
        except StorageError as exc:
            self._unreachable(exc, "keeping the hit")

    def hit(self, key: str, limit: str) -> tuple[bool, int]:
        """Count one hit: (still allowed?, seconds until the window resets)."""
        state = self.check(key, limit)
        return state.allowed, state.reset

    def _unreachable(self, exc: Exception, action: str) -> None:
        now = time.monotonic()
        if now - self._warned_at >= self.WARN_EVERY:
            self._warned_at = now
            log.warning("rate-limit storage unavailable, %s: %s", action, exc)


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
