"""Reads and writes of operators' API keys (rows of `api_keys`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, RowMapping, insert, select, update

from emstrack.store.schema import api_keys
from emstrack.store.values import aware


@dataclass(frozen=True, slots=True)
class KeyRow:
    id: int
    name: str
    scope: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


def _row(row: RowMapping) -> KeyRow:
    created = aware(row["created_at"])
    assert created is not None
    return KeyRow(
        id=row["id"],
        name=row["name"],
        scope=row["scope"],
        prefix=row["prefix"],
        created_at=created,
        revoked_at=aware(row["revoked_at"]),
        last_used_at=aware(row["last_used_at"]),
    )


_COLUMNS = [c for c in api_keys.c if c.name != "key_hash"]


def insert_key(conn: Connection, *, name: str, scope: str, prefix: str, key_hash: str) -> KeyRow:
    now = datetime.now(UTC)
    result = conn.execute(
        insert(api_keys)
        .values(name=name, scope=scope, prefix=prefix, key_hash=key_hash, created_at=now)
        .returning(*_COLUMNS)
    )
    return _row(result.mappings().one())


def all_keys(conn: Connection) -> list[KeyRow]:
    return [_row(r) for r in conn.execute(select(*_COLUMNS).order_by(api_keys.c.id)).mappings()]


def key_by_hash(conn: Connection, key_hash: str) -> KeyRow | None:
    row = conn.execute(select(*_COLUMNS).where(api_keys.c.key_hash == key_hash)).mappings()
    found = row.one_or_none()
    return _row(found) if found else None


def key_by_id(conn: Connection, key_id: int) -> KeyRow | None:
    found = conn.execute(select(*_COLUMNS).where(api_keys.c.id == key_id)).mappings()
    row = found.one_or_none()
    return _row(row) if row else None


def mark_revoked(conn: Connection, key_id: int) -> None:
    conn.execute(
        update(api_keys)
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )


def mark_used(conn: Connection, key_id: int, now: datetime) -> None:
    conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(last_used_at=now))
