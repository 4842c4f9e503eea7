"""The read model: `item_answers`, each number's lookup answer in one row (issue 15).

Filled for the numbers already stored (`store.answers.backfill`), in the migration's
transaction: a database upgraded answers every lookup from the new table at once.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from emstrack.store.answers import backfill

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "item_answers",
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("number", name="pk_item_answers"),
        sqlite_with_rowid=False,
    )
    backfill(op.get_bind())


def downgrade() -> None:
    op.drop_table("item_answers")
