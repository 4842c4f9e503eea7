"""Operator events: events read through a source profile, with or without a UPU code.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("profile", 64),
    ("rule", 64),
    ("label_en", 1000),
    ("label_zh", 1000),
    ("effect", 24),
)


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        for name, length in _COLUMNS:
            batch.add_column(sa.Column(name, sa.String(length)))


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        for name, _ in reversed(_COLUMNS):
            batch.drop_column(name)
