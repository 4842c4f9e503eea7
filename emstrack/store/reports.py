"""Reported messages in the `reports` table: added one at a time, read back in order."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, select

from emstrack.store.engine import WRITE
from emstrack.store.schema import reports


def add(engine: Engine, *, text: str, sender: str | None, verdict: str, reasons: str) -> int:
    """Keep one reported message; returns its id."""
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        row = conn.execute(
            insert(reports)
            .values(
                created_at=datetime.now(UTC),
                text=text,
                sender=sender,
                verdict=verdict,
                reasons=reasons,
            )
            .returning(reports.c.id)
        )
        return int(row.scalar_one())


def every(engine: Engine) -> Iterator[dict[str, Any]]:
    """Every report, oldest first, with an aware `created_at`."""
    with engine.connect() as conn:
        for row in conn.execute(select(reports).order_by(reports.c.id)).mappings():
            values = dict(row)
            if values["created_at"].tzinfo is None:  # SQLite: naive, UTC by construction
                values["created_at"] = values["created_at"].replace(tzinfo=UTC)
            yield values
