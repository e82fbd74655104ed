"""pending indexes cover only what is still owed: messages and outbox rows with done_at NULL

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 07:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


# (index, table, its column now, its columns before)
_INDEXES = (
    ("ix_messages_pending", "messages", "deliver_at", ["done_at", "deliver_at"]),
    ("ix_outbox_pending", "outbox", "id", ["done_at", "id"]),
)


def upgrade() -> None:
    for name, table, column, _before in _INDEXES:
        op.drop_index(name, table_name=table)
        op.create_index(
            name,
            table,
            [column],
            sqlite_where=sa.text("done_at IS NULL"),
            postgresql_where=sa.text("done_at IS NULL"),
        )


def downgrade() -> None:
    for name, table, _column, before in _INDEXES:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, before)
