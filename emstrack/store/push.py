"""Push endpoints: the browsers that asked for web push, and the keys their notices are sealed for.

A browser's push subscription is an endpoint URL at its push service plus two keys (`p256dh`, the
browser's P-256 public key, and `auth`, a shared secret). Its row's id is a digest of the
endpoint: a webpush subscription (table `subscriptions`) names the endpoint by that id, never by
the URL, which is a capability (whoever holds it may push to the device).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects import postgresql, sqlite

from emstrack.store.schema import push_endpoints
from emstrack.store.values import aware


def endpoint_id(endpoint: str) -> str:
    """The id of an endpoint: the first 16 bytes of its SHA-256, in hex (32 characters)."""
    return hashlib.sha256(endpoint.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class PushEndpointRow:
    id: str
    endpoint: str
    p256dh: str
    auth: str
    created_at: datetime
    ended_at: datetime | None

    @classmethod
    def of(cls, row: Any) -> PushEndpointRow:
        values = dict(row._mapping)
        for name in ("created_at", "ended_at"):
            values[name] = aware(values[name])
        return cls(**values)


def save_endpoint(
    conn: Connection, endpoint: str, p256dh: str, auth: str, now: datetime
) -> PushEndpointRow:
    """Store a browser's subscription; the same endpoint again takes its (new) keys and, if it
    had ended, lives again (the browser subscribed anew).

    On PostgreSQL the row stays locked until the caller commits: two requests for one browser
    at once (the app adds two items) take turns, and the second sees the first's subscriptions.
    """
    key = endpoint_id(endpoint)
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    conn.execute(
        dialect.insert(push_endpoints)
        .values(
            id=key,
            endpoint=endpoint,
            p256dh=p256dh,
            auth=auth,
            created_at=now.astimezone(UTC),
            ended_at=None,
        )
        .on_conflict_do_nothing()
    )
    found = endpoint_row(conn, key, lock=True)
    assert found is not None
    if (found.p256dh, found.auth, found.ended_at) != (p256dh, auth, None):
        conn.execute(
            update(push_endpoints)
            .where(push_endpoints.c.id == key)
            .values(p256dh=p256dh, auth=auth, ended_at=None)
        )
    return PushEndpointRow(key, found.endpoint, p256dh, auth, found.created_at, None)


def endpoint_row(
    conn: Connection, endpoint_id: str, *, lock: bool = False
) -> PushEndpointRow | None:
    """The endpoint of that id (`lock`: locked until the transaction ends, on PostgreSQL)."""
    query = select(push_endpoints).where(push_endpoints.c.id == endpoint_id)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    found = conn.execute(query).one_or_none()
    return PushEndpointRow.of(found) if found else None


def end_endpoint(conn: Connection, endpoint_id: str, now: datetime) -> bool:
    """Mark an endpoint gone (its push service said so); False if it had ended already."""
    result = conn.execute(
        update(push_endpoints)
        .where(push_endpoints.c.id == endpoint_id, push_endpoints.c.ended_at.is_(None))
        .values(ended_at=now.astimezone(UTC))
    )
    return result.rowcount == 1
