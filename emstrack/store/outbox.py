"""The outbox: notices waiting, sent or dead, and how workers claim them.

Claiming outbox rows works the same on SQLite and PostgreSQL: a worker picks due rows, then takes
each with a conditional UPDATE (the lease is free or has run out) and keeps those whose UPDATE
hit a row. Two workers can never both hold a live lease on one row; a worker that dies leaves
its rows to whoever claims them after the lease. Delivery is therefore at least once, and each
notice carries a stable id that receivers de-duplicate on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update

from emstrack.domain.events import Event
from emstrack.store.schema import outbox, subscriptions
from emstrack.store.subscriptions import (
    SubscriptionRow,
    SubscriptionState,
    live_subscriptions,
    new_id,
)
from emstrack.store.values import aware


class OutboxState:
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"  # failed too often: an operator lists and retries it (`emstrack outbox`)
    SUPPRESSED = "suppressed"  # not sent on purpose (too old to be news, subscription ended)


#: Statuses after which a subscription has nothing more to tell: one last notice, then it ends.
FINAL_STATUSES = frozenset({"delivered", "returned"})


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: str
    number: str
    subscription_id: str
    channel: str
    target: str
    kind: str
    payload: dict[str, Any]
    state: str
    attempts: int
    next_attempt_at: datetime
    lease_owner: str | None
    lease_until: datetime | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None

    @classmethod
    def of(cls, row: Any) -> OutboxRow:
        values = dict(row._mapping)
        values["payload"] = orjson.loads(values["payload"])
        for name in ("next_attempt_at", "lease_until", "created_at", "sent_at"):
            values[name] = aware(values[name])
        return cls(**values)


# --- status changes -> outbox ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatusChange:
    """An item's status changed in a write: what subscribers of its number are told."""

    number: str
    generation: int
    previous: str | None  # None: the item is new
    status: str
    detail: str | None
    event: Event | None  # the event that gives the status


def _event_payload(event: Event | None) -> dict[str, Any] | None:
    # The public fields only: a notice goes wherever the subscriber pointed it.
    if event is None:
        return None
    payload = {
        "code": event.code,
        "local_time": event.occurred_local.isoformat(timespec="seconds"),
        "utc_offset_min": event.utc_offset_min,
        "office_code": event.office_code,
        "office_name": event.office_name,
        "country": event.country,
    }
    if event.effect is not None:  # an operator event: its public labels (docs/import.md)
        payload |= {"label_en": event.label_en, "label_zh": event.label_zh}
    return payload


def enqueue_status_changes(conn: Connection, changes: Iterable[StatusChange], now: datetime) -> int:
    """In the caller's transaction: a notice for every active subscription whose number's status
    changed to one it has not been told; the last one (delivered, returned) ends the subscription.
    Returns how many notices were written."""
    by_number: dict[str, StatusChange] = {}
    for change in changes:
        kept = by_number.get(change.number)
        # The newest generation of a number is the item its subscribers follow.
        if kept is None or change.generation > kept.generation:
            by_number[change.number] = change
    if not by_number:
        return 0
    now = now.astimezone(UTC)
    notices: list[dict[str, Any]] = []
    for sub in live_subscriptions(conn, list(by_number)):
        change = by_number[sub.number]
        if change.status == sub.last_status:
            continue
        final = change.status in FINAL_STATUSES
        # Compare-and-set on what was read: on PostgreSQL two writers of one item may both have
        # read the same `last_status`; only the one whose update still finds it tells the
        # subscriber (no second notice under another id), and a subscription ended meanwhile
        # (unsubscribed) stays ended and gets nothing.
        told = conn.execute(
            update(subscriptions)
            .where(
                subscriptions.c.number == sub.number,
                subscriptions.c.id == sub.id,
                subscriptions.c.state == SubscriptionState.ACTIVE,
                subscriptions.c.last_status.is_not_distinct_from(sub.last_status),
            )
            .values(
                last_status=change.status,
                **(
                    {
                        "state": SubscriptionState.ENDED,
                        "ended_at": now,
                        "ended_reason": change.status,
                    }
                    if final
                    else {}
                ),
            )
        )
        if told.rowcount != 1:
            continue
        payload = {
            "number": change.number,
            "status": change.status,
            "status_detail": change.detail,
            "previous_status": sub.last_status,
            "event": _event_payload(change.event),
        }
        notices.append(_notice(sub, "status", payload, now))
    if notices:
        conn.execute(insert(outbox), notices)
    return len(notices)


def _notice(
    sub: SubscriptionRow, kind: str, payload: dict[str, Any], now: datetime
) -> dict[str, Any]:
    return {
        "id": new_id("evt_"),
        "number": sub.number,
        "subscription_id": sub.id,
        "channel": sub.channel,
        "target": sub.target,
        "kind": kind,
        "payload": orjson.dumps(payload).decode(),
        "state": OutboxState.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "lease_owner": None,
        "lease_until": None,
        "last_error": None,
        "created_at": now,
        "sent_at": None,
    }


def enqueue(
    conn: Connection, sub: SubscriptionRow, kind: str, payload: dict[str, Any], now: datetime
) -> str:
    """One notice (e.g. the confirmation mail of a new e-mail subscription); returns its id."""
    notice = _notice(sub, kind, payload, now.astimezone(UTC))
    conn.execute(insert(outbox).values(**notice))
    return str(notice["id"])


# --- the worker's side of the outbox ---------------------------------------------------------


def claim(
    conn: Connection, owner: str, now: datetime, lease: timedelta, limit: int
) -> list[OutboxRow]:
    """Take up to `limit` due notices for `owner` until `now + lease`; the caller commits."""
    now = now.astimezone(UTC)  # SQLite compares the stored times as text: always UTC
    free = or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < now)
    due = and_(
        outbox.c.state == OutboxState.PENDING,
        outbox.c.next_attempt_at <= now,
        free,
    )
    candidates = conn.execute(
        select(outbox.c.id).where(due).order_by(outbox.c.next_attempt_at).limit(limit * 2)
    ).scalars()
    taken: list[str] = []
    for notice_id in list(candidates):
        result = conn.execute(
            update(outbox)
            .where(outbox.c.id == notice_id, due)
            .values(lease_owner=owner, lease_until=now + lease, attempts=outbox.c.attempts + 1)
        )
        if result.rowcount == 1:
            taken.append(notice_id)
            if len(taken) == limit:
                break
    if not taken:
        return []
    rows = conn.execute(select(outbox).where(outbox.c.id.in_(taken)))
    return sorted((OutboxRow.of(r) for r in rows), key=lambda r: (r.next_attempt_at, r.id))


def finish(
    conn: Connection,
    notice_id: str,
    owner: str,
    *,
    state: str,
    now: datetime,
    error: str | None = None,
    next_attempt_at: datetime | None = None,
    counted: bool = True,
) -> bool:
    """Record the outcome of `owner`'s attempt; False if its lease was lost (another worker took
    the notice after the lease ran out, and its outcome is the one that counts).
    `counted=False`: the notice was not tried (held for quiet hours), so its claim is no attempt."""
    now = now.astimezone(UTC)
    values: dict[str, Any] = {"state": state, "lease_owner": None, "lease_until": None}
    if not counted:
        values["attempts"] = outbox.c.attempts - 1
    if error is not None:
        values["last_error"] = error[:500]
    if state == OutboxState.SENT:
        values["sent_at"] = now
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at.astimezone(UTC)
    result = conn.execute(
        update(outbox)
        .where(outbox.c.id == notice_id, outbox.c.lease_owner == owner)
        .values(**values)
    )
    return result.rowcount == 1


def notices(conn: Connection, *, state: str | None = None, limit: int = 100) -> list[OutboxRow]:
    """Notices, newest first, optionally of one state."""
    query = select(outbox).order_by(outbox.c.created_at.desc(), outbox.c.id).limit(limit)
    if state is not None:
        query = query.where(outbox.c.state == state)
    return [OutboxRow.of(r) for r in conn.execute(query)]


def notice(conn: Connection, notice_id: str) -> OutboxRow | None:
    found = conn.execute(select(outbox).where(outbox.c.id == notice_id)).one_or_none()
    return OutboxRow.of(found) if found else None


def retry(conn: Connection, ids: Sequence[str] | None, now: datetime) -> int:
    """Put dead notices back in the queue (all of them when `ids` is None); how many."""
    now = now.astimezone(UTC)
    query = update(outbox).where(outbox.c.state == OutboxState.DEAD)
    if ids is not None:
        query = query.where(outbox.c.id.in_(list(ids)))
    result = conn.execute(
        query.values(
            state=OutboxState.PENDING,
            attempts=0,
            next_attempt_at=now,
            lease_owner=None,
            lease_until=None,
        )
    )
    return result.rowcount


def notices_sent_to(conn: Connection, channel: str, target: str, kind: str, since: datetime) -> int:
    """How many notices of `kind` were queued for one recipient since `since`."""
    return int(
        conn.execute(
            select(func.count())
            .select_from(outbox)
            .where(
                outbox.c.channel == channel,
                outbox.c.target == target,
                outbox.c.kind == kind,
                outbox.c.created_at >= since.astimezone(UTC),
            )
        ).scalar_one()
    )


def count_by_state(conn: Connection) -> dict[str, int]:
    rows = conn.execute(select(outbox.c.state, func.count()).group_by(outbox.c.state))
    return {str(state): int(count) for state, count in rows}


def forget_notices(conn: Connection, before: datetime) -> int:
    """Drop notices sent or suppressed before `before` (dead ones stay for the operator)."""
    done = (OutboxState.SENT, OutboxState.SUPPRESSED)
    query = delete(outbox).where(
        outbox.c.state.in_(done), outbox.c.created_at < before.astimezone(UTC)
    )
    return conn.execute(query).rowcount
