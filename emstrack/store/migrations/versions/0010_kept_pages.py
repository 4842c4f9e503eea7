"""The found items' public pages the read model keeps (issue 15): `item_pages`, and which rows
still need theirs made (`item_answers.page_due`; `store.pages`).

Every row is due at first (the column's default): the page keeper (`emstrack worker`,
`emstrack serve --worker`) makes their pages in the background, and pages are drawn from the
rows until then, as before.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "item_pages",
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("stamp", sa.String(32), nullable=False),
        sa.Column("page_en", sa.LargeBinary(), nullable=True),
        sa.Column("page_zh", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("number", name="pk_item_pages"),
    )
    # A constant default: PostgreSQL and SQLite add it without rewriting the table.
    op.add_column(
        "item_answers",
        sa.Column("page_due", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.create_index(
        "ix_item_answers_page_due",
        "item_answers",
        ["number"],
        postgresql_where=sa.text("page_due"),
        sqlite_where=sa.text("page_due"),
    )


def downgrade() -> None:
    op.drop_index("ix_item_answers_page_due", table_name="item_answers")
    op.drop_column("item_answers", "page_due")
    op.drop_table("item_pages")
