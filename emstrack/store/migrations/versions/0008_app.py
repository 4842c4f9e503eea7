"""The app (issue 16): browsers' push endpoints, and the optional signed-in lists.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "push_endpoints",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("endpoint", sa.String(1000), nullable=False),
        sa.Column("p256dh", sa.String(128), nullable=False),
        sa.Column("auth", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_push_endpoints"),
    )
    op.create_table(
        "app_accounts",
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signed_out_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("account", name="pk_app_accounts"),
    )
    op.create_table(
        "app_items",
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("label", sa.String(80)),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account", "number", name="pk_app_items"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("app_items")
    op.drop_table("app_accounts")
    op.drop_table("push_endpoints")
