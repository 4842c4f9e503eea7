"""Subscriptions: who is told of an item's moves, on which channel, and in which state."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from emstrack.store.schema import items, subscriptions
from emstrack.store.values import aware


class SubscriptionState:
    PENDING = "pending"  # e-mail: waiting for the address's owner to confirm
    ACTIVE = "active"
    ENDED = "ended"


def new_id(prefix: str = "") -> str:
    """A random id: 16 bytes, URL-safe (22 characters), after `prefix`."""
    return prefix + secrets.token_urlsafe(16)


@dataclass(frozen=True, slots=True)
class SubscriptionRow:
    number: str
    id: str
    channel: str
    target: str
    lang: str
    timezone: str
    state: str
    last_status: str | None
    key_id: int | None
    created_at: datetime
    confirmed_at: datetime | None
    ended_at: datetime | None
    ended_reason: str | None

    @classmethod
    def of(cls, row: Any) -> SubscriptionRow:
        values = dict(row._mapping)
        for name in ("created_at", "confirmed_at", "ended_at"):
            values[name] = aware(values[name])
        return cls(**values)


def add_subscription(
    conn: Connection,
    *,
    number: str,
    channel: str,
    target: str,
    lang: str,
    timezone: str,
    state: str,
    last_status: str | None,
    key_id: int | None = None,
    now: datetime,
) -> SubscriptionRow:
    now = now.astimezone(UTC)
    values: dict[str, Any] = {
        "number": number,
        "id": new_id(),
        "channel": channel,
        "target": target,
        "lang": lang,
        "timezone": timezone,
        "state": state,
        "last_status": last_status,
        "key_id": key_id,
        "created_at": now,
        "confirmed_at": now if state == SubscriptionState.ACTIVE else None,
        "ended_at": None,
        "ended_reason": None,
    }
    conn.execute(insert(subscriptions).values(**values))
    return SubscriptionRow(**values)


def subscription(conn: Connection, number: str, subscription_id: str) -> SubscriptionRow | None:
    found = conn.execute(
        select(subscriptions).where(
            subscriptions.c.number == number, subscriptions.c.id == subscription_id
        )
    ).one_or_none()
    return SubscriptionRow.of(found) if found else None


def subscription_by_id(conn: Connection, subscription_id: str) -> SubscriptionRow | None:
    """By id alone (the API's `/subscriptions/{id}`): a scan of the index on a sharded setup."""
    found = conn.execute(
        select(subscriptions).where(subscriptions.c.id == subscription_id)
    ).one_or_none()
    return SubscriptionRow.of(found) if found else None


def subscriptions_of(
    conn: Connection, channel: str, target: str, *, live_only: bool = True
) -> list[SubscriptionRow]:
    """A recipient's subscriptions (a chat user's, an address's), oldest first."""
    query = select(subscriptions).where(
        subscriptions.c.channel == channel, subscriptions.c.target == target
    )
    if live_only:
        query = query.where(subscriptions.c.state != SubscriptionState.ENDED)
    rows = conn.execute(query.order_by(subscriptions.c.created_at, subscriptions.c.id))
    return [SubscriptionRow.of(r) for r in rows]


def live_subscriptions(conn: Connection, numbers: Sequence[str]) -> list[SubscriptionRow]:
    """The active subscriptions of `numbers`."""
    found: list[SubscriptionRow] = []
    wanted = sorted(set(numbers))
    for start in range(0, len(wanted), 500):
        rows = conn.execute(
            select(subscriptions).where(
                subscriptions.c.number.in_(wanted[start : start + 500]),
                subscriptions.c.state == SubscriptionState.ACTIVE,
            )
        )
        found.extend(SubscriptionRow.of(r) for r in rows)
    return found


def confirm_subscription(
    conn: Connection, number: str, subscription_id: str, now: datetime
) -> bool:
    """Pending -> active; False if it was not pending."""
    result = conn.execute(
        update(subscriptions)
        .where(
            subscriptions.c.number == number,
            subscriptions.c.id == subscription_id,
            subscriptions.c.state == SubscriptionState.PENDING,
        )
        .values(state=SubscriptionState.ACTIVE, confirmed_at=now)
    )
    return result.rowcount == 1


def end_subscription(
    conn: Connection, number: str, subscription_id: str, reason: str, now: datetime
) -> bool:
    """End a live subscription; False if it had ended already (or never existed)."""
    result = conn.execute(
        update(subscriptions)
        .where(
            subscriptions.c.number == number,
            subscriptions.c.id == subscription_id,
            subscriptions.c.state != SubscriptionState.ENDED,
        )
        .values(state=SubscriptionState.ENDED, ended_at=now, ended_reason=reason)
    )
    return result.rowcount == 1


def current_status(conn: Connection, number: str) -> str | None:
    """The status of the newest item of `number`; None when nothing is on record."""
    return conn.execute(
        select(items.c.status)
        .where(items.c.number == number)
        .order_by(items.c.generation.desc())
        .limit(1)
    ).scalar_one_or_none()
