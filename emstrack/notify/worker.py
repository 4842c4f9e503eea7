"""The outbox worker: claims due notices, delivers them, and records what happened.

Each round claims a batch in one short transaction (committed before anything is sent), then
delivers every notice outside any transaction, then records each outcome in its own
transaction. A worker killed mid-delivery leaves its notices leased; when the lease runs out
another worker (or this one, restarted) claims them again. Delivery is therefore at least once:
receivers de-duplicate on the notice's id, which every attempt carries.

The notices of a round go out one after another. Each sender bounds its own attempt (a webhook
by `notify_webhook_timeout_seconds`, from resolving the host to the last byte of the answer),
so a receiver that is slow, or answers a byte at a time, delays the notices behind it by that
much at most and is itself tried again after its back-off.

Per notice, in order:

1. A status notice whose subscription ended other than by delivery (unsubscribed) is
   suppressed; so is a confirmation mail of a subscription no longer waiting for one.
2. A status notice about an event older than `notify_max_age_hours` when it was stored is
   suppressed ("old news"): a backlog import does not flood subscribers. The event's instant is
   its local time minus its UTC offset; where the offset is unknown the local time is taken as
   UTC, which is off by at most 14 hours against a limit of days.
3. An e-mail, chat or web push status notice due in the recipient's quiet hours waits until
   their end. Webhooks are machines and never wait; a confirmation mail answers what someone
   just did.
4. Otherwise it is sent. A failure that may pass is tried again after an exponential back-off
   with jitter (or the far side's own `retry_after`, when longer); after
   `notify_max_attempts` attempts, or at once for a failure that cannot pass, the notice is
   dead: `emstrack outbox list --state dead` shows it, `emstrack outbox retry` revives it.
"""

from __future__ import annotations

import logging
import os
import random
import secrets
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from emstrack.config import Settings
from emstrack.domain.lang import lang_of
from emstrack.domain.quiet import parse_quiet_hours, quiet_until
from emstrack.notify.senders import Result, Sender, senders_for
from emstrack.store import outbox
from emstrack.store.channel_seen import forget_seen
from emstrack.store.database import Database
from emstrack.store.outbox import OutboxRow, OutboxState
from emstrack.store.subscriptions import SubscriptionRow, SubscriptionState, subscription

log = logging.getLogger(__name__)

#: The longest wait between two attempts.
MAX_BACKOFF: Final = timedelta(hours=6)
#: Each wait is the doubled delay times a random factor in this range, so that notices that
#: failed together (a receiver down for an hour) do not all come back in the same second.
JITTER: Final = (0.75, 1.25)
_HELD_CHANNELS = frozenset({"email", "wechat", "telegram", "webpush"})


@dataclass(frozen=True, slots=True)
class Summary:
    """What one round did, by outcome."""

    sent: int = 0
    retried: int = 0
    dead: int = 0
    suppressed: int = 0
    deferred: int = 0

    @property
    def total(self) -> int:
        return self.sent + self.retried + self.dead + self.suppressed + self.deferred


def backoff(
    attempts: int,
    base_seconds: float,
    *,
    retry_after: float | None = None,
    rand: Callable[[], float] = random.random,
) -> timedelta:
    """The wait after the `attempts`-th failed attempt: base × 2^(attempts-1), ±25 %, at most six
    hours; never shorter than the far side's `retry_after`."""
    doubled = base_seconds * 2.0 ** min(max(attempts - 1, 0), 40)
    low, high = JITTER
    delay = min(doubled * (low + (high - low) * rand()), MAX_BACKOFF.total_seconds())
    if retry_after is not None:
        delay = max(delay, retry_after)
    return timedelta(seconds=delay)


def event_instant(event: Mapping[str, object]) -> datetime | None:
    """The UTC instant of a notice's event; the local time taken as UTC where the offset is
    unknown (see the module docstring)."""
    try:
        local = datetime.fromisoformat(str(event["local_time"]))
    except (KeyError, ValueError):
        return None
    offset = event.get("utc_offset_min")
    if isinstance(offset, int):
        local -= timedelta(minutes=offset)
    return local.replace(tzinfo=UTC)


def shown(channel: str, target: str) -> str:
    """A target as a log may show it: no URL path or query (they may hold secrets), a masked
    address, the end of a chat id."""
    if channel == "webhook":
        scheme, _, rest = target.partition("://")
        host = rest.split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1]
        return f"{scheme}://{host}/…"
    if channel == "email":
        local, _, domain = target.rpartition("@")
        return f"{local[:1]}***@{domain}"
    return "***" + target[-4:] if len(target) > 4 else "***"


def _default_owner() -> str:
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{secrets.token_hex(4)}"


def _now() -> datetime:
    return datetime.now(UTC)


#: How often a running worker tidies up, and how long chat message ids are kept.
_TIDY_EVERY = 3600.0
_SEEN_KEPT = timedelta(days=7)
_NOTICES_KEPT = timedelta(days=30)


class Worker:
    """Delivers the outbox; several may run at once on one database (threads or processes)."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        senders: Mapping[str, Sender] | None = None,
        owner: str | None = None,
        batch: int = 20,
        clock: Callable[[], datetime] = _now,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._db = db
        self._settings = settings
        self._owns_senders = senders is None
        self._senders = senders if senders is not None else senders_for(settings, db)
        self.owner = (owner or _default_owner())[:64]
        self._batch = batch
        self._clock = clock
        self._rand = rand
        self._quiet = parse_quiet_hours(settings.notify_quiet_hours)
        self._lease = timedelta(seconds=settings.notify_lease_seconds)

    def close(self) -> None:
        """Close the senders this worker made (not those it was given)."""
        if self._owns_senders:
            for sender in self._senders.values():
                sender.close()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def run(self, stop: threading.Event, idle_sleep: float = 1.0) -> None:
        """Deliver until `stop` is set; wait `idle_sleep` seconds whenever nothing is due."""
        log.info("outbox worker %s started", self.owner)
        tidy_at = 0.0
        while not stop.is_set():
            try:
                if time.monotonic() >= tidy_at:
                    self.tidy()
                    tidy_at = time.monotonic() + _TIDY_EVERY
                done = self.run_once()
            except Exception:
                # A database that is away for a moment must not end the worker.
                log.exception("outbox worker %s: round failed; trying again", self.owner)
                done = Summary()
            if done.total == 0:
                stop.wait(idle_sleep)
        log.info("outbox worker %s stopped", self.owner)

    def tidy(self, now: datetime | None = None) -> int:
        """Forget the chat platforms' message ids older than a week (they redeliver within
        minutes) and notices sent or suppressed a month ago; how many rows were dropped."""
        now = (now or self._clock()).astimezone(UTC)
        with self._db.write() as unit:
            return forget_seen(unit, now - _SEEN_KEPT) + outbox.forget_notices(
                unit, now - _NOTICES_KEPT
            )

    def run_once(self, now: datetime | None = None) -> Summary:
        """Claim a batch of due notices and deliver each; what happened to them."""
        # In UTC: SQLite compares the stored times as text, so every one must have one offset.
        started, real_start = (now or self._clock()).astimezone(UTC), self._clock()

        def current() -> datetime:
            # `now` may be a test's chosen moment: time moves on from it as it really does.
            return started + (self._clock() - real_start)

        with self._db.write() as unit:
            rows = outbox.claim(unit, self.owner, started, self._lease, self._batch)
            subs = {r.id: subscription(unit, r.number, r.subscription_id) for r in rows}
        counts = dict.fromkeys(("sent", "retried", "dead", "suppressed", "deferred"), 0)
        for row in rows:
            counts[self._handle(row, subs[row.id], current)] += 1
        return Summary(**counts)

    # --- one notice --------------------------------------------------------------------------

    def _handle(
        self, row: OutboxRow, sub: SubscriptionRow | None, current: Callable[[], datetime]
    ) -> str:
        why = self._unwanted(row, sub)
        if why is not None:
            return self._finish(row, OutboxState.SUPPRESSED, current(), why)
        assert sub is not None  # _unwanted says why otherwise
        now = current()
        if row.kind == "status" and row.channel in _HELD_CHANNELS:
            until = quiet_until(now, self._quiet, sub.timezone)
            if until is not None:
                # The claim counted an attempt, yet a wait is not one.
                return self._finish(
                    row,
                    OutboxState.PENDING,
                    now,
                    f"quiet hours in {sub.timezone} until {until.isoformat(timespec='minutes')}",
                    next_attempt_at=until,
                    outcome="deferred",
                    counted=False,
                )
        if row.lease_until is not None and row.lease_until - now < self._lease / 2:
            # Slow deliveries earlier in the batch used up half the lease: a send started now
            # might outlast it, and another worker would send the notice again. Give it back
            # at once, as untried.
            log.warning("notice %s: too little of its lease left; giving it back", row.id)
            return self._finish(
                row, OutboxState.PENDING, now, None, outcome="retried", counted=False
            )
        result = self._deliver(row, sub)
        now = current()
        if result.ok:
            return self._finish(row, OutboxState.SENT, now, None, outcome="sent")
        error = result.error or "failed"
        if result.retryable and row.attempts < self._settings.notify_max_attempts:
            wait = backoff(
                row.attempts,
                self._settings.notify_retry_seconds,
                retry_after=result.retry_after,
                rand=self._rand,
            )
            return self._finish(
                row, OutboxState.PENDING, now, error, next_attempt_at=now + wait, outcome="retried"
            )
        return self._finish(row, OutboxState.DEAD, now, error)

    def _unwanted(self, row: OutboxRow, sub: SubscriptionRow | None) -> str | None:
        """Why a notice is not to be sent at all, or None."""
        if sub is None:
            return "the subscription no longer exists"
        if row.kind == "confirm":
            if sub.state != SubscriptionState.PENDING:
                return f"the subscription is {sub.state}: nothing to confirm"
            return None
        if sub.state == SubscriptionState.ENDED and sub.ended_reason not in outbox.FINAL_STATUSES:
            return f"the subscription ended ({sub.ended_reason or 'ended'})"
        event = row.payload.get("event")
        instant = event_instant(event) if isinstance(event, dict) else None
        max_age = timedelta(hours=self._settings.notify_max_age_hours)
        if instant is not None and row.created_at - instant > max_age:
            return f"old news: event of {instant.date().isoformat()}"
        return None

    def _deliver(self, row: OutboxRow, sub: SubscriptionRow) -> Result:
        sender = self._senders.get(row.channel)
        if sender is None and row.channel == "webpush":
            return Result(
                False,
                False,
                "web push is not configured: set EMSTRACK_WEBPUSH_PUBLIC_KEY, "
                "EMSTRACK_WEBPUSH_PRIVATE_KEY and EMSTRACK_WEBPUSH_SUBJECT "
                "(`emstrack webpush keys` makes the keys)",
            )
        if sender is None:
            return Result(False, False, f"no sender for the channel {row.channel!r}")
        try:
            return sender.send(row, lang=lang_of(sub.lang))
        except Exception as exc:
            # A fault of ours (a bug, a template): try again later rather than stop the worker.
            log.exception("notice %s: the %s sender failed", row.id, row.channel)
            return Result(False, True, f"{type(exc).__name__} in the {row.channel} sender")

    def _finish(
        self,
        row: OutboxRow,
        state: str,
        now: datetime,
        error: str | None,
        *,
        next_attempt_at: datetime | None = None,
        outcome: str | None = None,
        counted: bool = True,
    ) -> str:
        with self._db.write() as unit:
            kept = outbox.finish(
                unit,
                row.id,
                self.owner,
                state=state,
                now=now,
                error=error,
                next_attempt_at=next_attempt_at,
                counted=counted,
            )
        outcome = outcome or state
        detail = f": {error}" if error else ""
        if next_attempt_at is not None:
            detail += f"; next at {next_attempt_at.isoformat(timespec='seconds')}"
        log.info(
            "notice %s (%s %s to %s, attempt %d) %s%s%s",
            row.id,
            row.kind,
            row.channel,
            shown(row.channel, row.target),
            row.attempts,
            outcome,
            detail,
            "" if kept else " (lease lost: another worker's outcome counts)",
        )
        return outcome
