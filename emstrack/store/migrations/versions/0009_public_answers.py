"""The read model keeps each found item's public answers (issue 15): `item_answers.stamp`,
`public_en`, `public_zh` (`store.answers`).

Empty on the rows already there: their lookups make the answer from the rows, as before, until
`emstrack db refresh-answers` (or the next write of the number) makes them.

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
    with op.batch_alter_table("item_answers") as table:
        table.add_column(sa.Column("stamp", sa.String(32), nullable=True))
        table.add_column(sa.Column("public_en", sa.Text(), nullable=True))
        table.add_column(sa.Column("public_zh", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("item_answers") as table:
        table.drop_column("public_zh")
        table.drop_column("public_en")
        table.drop_column("stamp")
