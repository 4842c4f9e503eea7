"""The chat channels' seen-message log: each incoming message answered once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete
from sqlalchemy.dialects import postgresql, sqlite

from emstrack.store.schema import channel_seen


def first_sighting(conn: Connection, channel: str, key: str, now: datetime) -> bool:
    """Note a message as seen; True only the first time (a redelivery gets False)."""
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    # RETURNING, not rowcount: psycopg reports no row count for INSERT .. ON CONFLICT here.
    inserted = conn.execute(
        dialect.insert(channel_seen)
        .values(channel=channel, key=key[:128], seen_at=now)
        .on_conflict_do_nothing()
        .returning(channel_seen.c.key)
    ).first()
    return inserted is not None


def forget_seen(conn: Connection, before: datetime) -> int:
    """Drop the seen-log older than `before` (platforms redeliver within minutes)."""
    return conn.execute(delete(channel_seen).where(channel_seen.c.seen_at < before)).rowcount
