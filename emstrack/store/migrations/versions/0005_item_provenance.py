"""Where an item's destination postcode came from, and conflicting item attributes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("postcode_from", sa.String(8)))
    # Postcodes stored before provenance was kept: they came from events (the old merge could
    # set one too, but which did cannot be told now). Unlock keeps working for them.
    op.execute("UPDATE items SET postcode_from = 'event' WHERE destination_postcode IS NOT NULL")
    op.create_table(
        "item_conflicts",
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("generation", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("field", sa.String(32), nullable=False),
        sa.Column("value", sa.String(32), nullable=False),
        sa.Column("source", sa.String(100)),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("number", "generation", "field", "value", name="pk_item_conflicts"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("item_conflicts")
    with op.batch_alter_table("items") as batch:
        batch.drop_column("postcode_from")
