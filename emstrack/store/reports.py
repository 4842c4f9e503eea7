"""Reported messages in the `reports` table: added one at a time, read back in order (all, or
those since a time)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from emstrack.store.schema import reports


def insert_report(
    conn: Connection, *, text: str, sender: str | None, verdict: str, reasons: str
) -> int:
    """Keep one reported message; returns its id."""
    row = conn.execute(
        insert(reports)
        .values(
            created_at=datetime.now(UTC), text=text, sender=sender, verdict=verdict, reasons=reasons
        )
        .returning(reports.c.id)
    )
    return int(row.scalar_one())


def all_reports(conn: Connection) -> Iterator[dict[str, Any]]:
    """Every report, oldest first, with an aware `created_at`."""
    return reports_since(conn, None)


def reports_since(conn: Connection, since: datetime | None) -> Iterator[dict[str, Any]]:
    """The reports made at or after `since` (an aware time; None: all), oldest first, with an
    aware `created_at`."""
    query = select(reports).order_by(reports.c.id)
    if since is not None:
        # SQLite keeps the time naive, in UTC: compared as UTC it orders as on PostgreSQL.
        query = query.where(reports.c.created_at >= since.astimezone(UTC))
    for row in conn.execute(query).mappings():
        values = dict(row)
        if values["created_at"].tzinfo is None:  # SQLite: naive, UTC by construction
            values["created_at"] = values["created_at"].replace(tzinfo=UTC)
        yield values
