"""The found items' public answers the read model keeps (issue 15): `item_public_answers`
(`store.answers`).

Empty at first: lookups make every answer from the rows, as before, until
`emstrack db refresh-answers` (or the next write of a number) makes them.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "item_public_answers",
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("stamp", sa.String(32), nullable=False),
        sa.Column("public_en", sa.Text(), nullable=True),
        sa.Column("public_zh", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("number", name="pk_item_public_answers"),
    )


def downgrade() -> None:
    op.drop_table("item_public_answers")
