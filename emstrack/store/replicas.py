"""Read replicas: PostgreSQL hot standbys that answer public lookups, and who wrote lately.

`Replicas` keeps one engine per standby (made like the primary's, `store.engine.make_engine`)
and which of them may answer now. It measures each standby's lag at most once per
`check_seconds` (by the request that finds the reading stale; the others go on with the last
one), so a lookup costs no extra query:

- first the primary's WAL position (`pg_current_wal_lsn()`), then on each standby: a standby
  that has replayed up to that position is current (lag 0); one that is behind lags by the age
  of the last transaction it replayed (`now() - pg_last_xact_replay_timestamp()`): it has every
  change committed before that instant. Without the primary's position (the primary did not
  answer), a standby that has replayed all it received counts as current.
- a standby further behind than `max_lag` is skipped until a later check finds it caught up;
  one that fails (refused, gone, not a standby: `pg_is_in_recovery()` false, as after a
  failover) is left out for `retry_seconds`. With none left the primary answers.

`RecentWrites` remembers who wrote (an operator's key), for `seconds` after the write committed,
so that its own reads go to the primary until any replica that answers has the write: in the
memory of the process, and in Redis when `EMSTRACK_REDIS_URL` is set, where every server
process sees it. When Redis cannot be reached the writer is taken to have written lately (its
reads go to the primary): a read of one's own write must not go stale.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis
from sqlalchemy import Engine, text

from emstrack.store.errors import DRIVER_ERRORS

log = logging.getLogger(__name__)

_PRIMARY_POSITION = text("SELECT CAST(pg_current_wal_lsn() AS text)")

# One row: in recovery?; replayed up to the primary's position (NULL without it)?; replayed
# all it received?; seconds since the last transaction it replayed (NULL: none yet).
_STANDBY_LAG = text(
    "SELECT pg_is_in_recovery(),"
    " pg_last_wal_replay_lsn() >= CAST(:position AS pg_lsn),"
    " pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn(),"
    " EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp())"
)

Clock = Callable[[], float]


@dataclass(eq=False)
class Replica:
    """One standby: its engine and what the last check found."""

    engine: Engine
    #: Seconds behind the primary at the last check; None: not measured, or failed.
    lag: float | None = None
    #: `clock()` before which the standby is left out (it failed).
    down_until: float = 0.0
    #: Why it was last left out, for logs and `status()`.
    problem: str = ""

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)


@dataclass(eq=False)
class Replicas:
    """The standbys of one primary, which of them may answer, measured now and then."""

    primary: Engine
    replicas: Sequence[Replica]
    max_lag: float
    check_seconds: float
    retry_seconds: float
    clock: Clock = time.monotonic
    _usable: tuple[Replica, ...] = ()
    _checked_at: float | None = None
    _turn: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check_due(self) -> bool:
        """The standbys' lag is due to be measured again (by the next `pick`)."""
        checked = self._checked_at
        return checked is None or self.clock() - checked >= self.check_seconds

    def pick(self) -> Replica | None:
        """A standby to read from (in turn among the usable ones), or None: use the primary."""
        if self.check_due() and self._lock.acquire(blocking=False):
            try:
                self.check()
            finally:
                self._lock.release()
        usable = self._usable
        if not usable:
            return None
        self._turn += 1  # a lost increment between threads only changes whose turn it is
        return usable[self._turn % len(usable)]

    def check(self) -> None:
        """Measure every standby that is not left out now, and choose the usable ones."""
        now = self.clock()
        position = self._primary_position()
        for replica in self.replicas:
            if replica.down_until > now:
                continue
            try:
                replica.lag = self._lag(replica, position)
            except DRIVER_ERRORS as exc:
                self._leave_out(replica, f"failed: {type(exc).__name__}", now)
                continue
            if replica.lag is None:
                self._leave_out(replica, "is not a standby (pg_is_in_recovery() is false)", now)
            elif replica.lag > self.max_lag:
                replica.problem = f"lags {replica.lag:.1f} s (more than {self.max_lag:g} s)"
            else:
                replica.problem = ""
        self._usable = tuple(r for r in self.replicas if self._ok(r, now))
        self._checked_at = now

    def failed(self, replica: Replica, exc: BaseException) -> None:
        """A read on `replica` failed: leave it out for `retry_seconds`, its pool emptied."""
        self._leave_out(replica, f"failed: {type(exc).__name__}", self.clock())
        self._usable = tuple(r for r in self._usable if r is not replica)
        replica.engine.dispose()

    def status(self) -> list[dict[str, Any]]:
        """Each standby's URL (no password), lag and whether it answers now."""
        now = self.clock()
        return [
            {"url": r.url, "lag": r.lag, "usable": self._ok(r, now), "problem": r.problem}
            for r in self.replicas
        ]

    def dispose(self) -> None:
        for replica in self.replicas:
            replica.engine.dispose()

    def _ok(self, replica: Replica, now: float) -> bool:
        return replica.down_until <= now and replica.lag is not None and replica.lag <= self.max_lag

    def _leave_out(self, replica: Replica, problem: str, now: float) -> None:
        if replica.problem != problem:
            log.warning("replica %s %s: reading from the primary", replica.url, problem)
        replica.lag = None
        replica.problem = problem
        replica.down_until = now + self.retry_seconds

    def _primary_position(self) -> str | None:
        try:
            with self.primary.connect() as conn:
                value = conn.execute(_PRIMARY_POSITION).scalar()
        except DRIVER_ERRORS:
            return None  # the primary's own outage shows on its own reads and writes
        return None if value is None else str(value)

    @staticmethod
    def _lag(replica: Replica, position: str | None) -> float | None:
        with replica.engine.connect() as conn:
            row = conn.execute(_STANDBY_LAG, {"position": position}).one()
        in_recovery, caught_up, replayed_all, age = row
        if not in_recovery:
            return None
        if caught_up or (position is None and replayed_all):
            return 0.0
        return float("inf") if age is None else max(0.0, float(age))


class RecentWrites:
    """Who wrote in the last `seconds`: in this process, and in Redis when it is given."""

    PREFIX = "emstrack:wrote:"

    def __init__(self, seconds: float, redis_url: str = "", clock: Clock = time.monotonic):
        self.seconds = seconds
        self._clock = clock
        self._local: dict[str, float] = {}
        self._redis: redis.Redis | None = None
        self._warned_at = float("-inf")
        if redis_url:
            self._redis = redis.Redis.from_url(
                redis_url, socket_timeout=0.5, socket_connect_timeout=0.5
            )

    def note(self, writer: str) -> None:
        """`writer` has just committed a write."""
        now = self._clock()
        if len(self._local) > 10_000:  # keys are few; forget the old ones now and then
            self._local = {w: t for w, t in self._local.items() if now - t < self.seconds}
        self._local[writer] = now
        if self._redis is not None:
            try:
                self._redis.set(self.PREFIX + writer, b"1", px=max(1, round(self.seconds * 1000)))
            except redis.RedisError as exc:  # the reads see it (`lately`)
                self._unreachable(exc)

    def lately(self, writer: str) -> bool:
        """Did `writer` write in the last `seconds` (here, or in another process)?"""
        at = self._local.get(writer)
        if at is not None and self._clock() - at < self.seconds:
            return True
        if self._redis is None:
            return False
        try:
            return bool(self._redis.exists(self.PREFIX + writer))
        except redis.RedisError as exc:  # unknown: to the primary, never stale
            self._unreachable(exc)
            return True

    def _unreachable(self, exc: redis.RedisError) -> None:
        now = time.monotonic()
        if now - self._warned_at >= 60:
            self._warned_at = now
            log.warning("Redis unavailable for read-your-writes, reading from the primary: %s", exc)
