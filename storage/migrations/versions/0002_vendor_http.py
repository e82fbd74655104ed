"""vendor HTTP facade: signatures, templates, batches, HTTP credentials, push bookkeeping

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 00:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("http_secrets", sa.Text(), nullable=True))
    with op.batch_alter_table("mo", schema=None) as batch_op:
        batch_op.add_column(sa.Column("read_at", sa.Float(), nullable=True))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("gave_up_at", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))
    op.create_table(
        "signatures",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("account", sa.String(length=32), nullable=False),
        sa.Column("text", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("scenario", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account", "text", name="uq_signatures_account_text"),
    )
    op.create_table(
        "templates",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("account", sa.String(length=32), nullable=False),
        sa.Column("template_id", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account", "template_id", name="uq_templates_account_tid"),
    )
    op.create_table(
        "batches",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("batch_id", sa.String(length=64), nullable=False),
        sa.Column("account", sa.String(length=32), nullable=False),
        sa.Column("vendor", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("schedule_at", sa.Float(), nullable=True),
        sa.Column("sign", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("template_id", sa.String(length=32), nullable=True),
        sa.Column("requested", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("invalid", sa.Integer(), nullable=False),
        sa.Column("blacklisted", sa.Integer(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=64), nullable=True),
        sa.Column("client_batch", sa.String(length=64), nullable=True),
        sa.Column("extra", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_batches_batch_id", "batches", ["batch_id"], unique=False)
    op.create_index("ix_batches_account", "batches", ["account", "created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_batches_account", table_name="batches")
    op.drop_index("ix_batches_batch_id", table_name="batches")
    op.drop_table("batches")
    op.drop_table("templates")
    op.drop_table("signatures")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("last_error")
        batch_op.drop_column("gave_up_at")
    with op.batch_alter_table("mo", schema=None) as batch_op:
        batch_op.drop_column("read_at")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("http_secrets")
