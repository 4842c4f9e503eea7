"""Items and events, keyed by tracking number.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "items",
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("generation", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("service", sa.String(32)),
        sa.Column("origin_country", sa.String(2)),
        sa.Column("destination_country", sa.String(2)),
        sa.Column("destination_postcode", sa.String(32)),
        sa.Column("first_event_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("last_event_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("status_detail", sa.String(24)),
        sa.Column("status_code", sa.String(8)),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("number", "generation", name="pk_items"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "events",
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("generation", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("dedupe_key", sa.String(24), nullable=False),
        sa.Column("code", sa.String(8), nullable=False),
        sa.Column("occurred_local", sa.DateTime(timezone=False), nullable=False),
        sa.Column("utc_offset_min", sa.SmallInteger()),
        sa.Column("occurred_utc", sa.DateTime(timezone=True)),
        sa.Column("office_code", sa.String(16)),
        sa.Column("office_name", sa.String(200)),
        sa.Column("country", sa.String(2)),
        sa.Column("next_office_code", sa.String(16)),
        sa.Column("reason_code", sa.String(16)),
        sa.Column("reason_text", sa.String(500)),
        sa.Column("action_code", sa.String(16)),
        sa.Column("action_text", sa.String(500)),
        sa.Column("retention_code", sa.String(16)),
        sa.Column("retention_text", sa.String(500)),
        sa.Column("signatory", sa.String(200)),
        sa.Column("description", sa.String(1000)),
        sa.Column("source", sa.String(100)),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["number", "generation"],
            ["items.number", "items.generation"],
            name="fk_events_number_items",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("number", "generation", "dedupe_key", name="pk_events"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("events")
    op.drop_table("items")
