"""Bitrix24 outbox: one row per portal entity with its wanted/pushed hashes and job state.

Revision ID: 20261123_0003
Revises: 20261123_0002
Create Date: 2026-11-23

Self-contained: types are spelled out here, not imported from ``exchange_server.outbox.tables``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261123_0003"
down_revision: str | Sequence[str] | None = "20261123_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DATA = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "b24_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("phase", sa.Integer(), nullable=False),
        sa.Column("want_hash", sa.String(length=64), nullable=False),
        sa.Column("pushed_hash", sa.String(length=64), nullable=True),
        sa.Column("payload", JSON_DATA, nullable=False),
        sa.Column("portal_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", TS, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("pushed_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_b24_outbox")),
        sa.UniqueConstraint("kind", "key", name=op.f("uq_b24_outbox_kind")),
    )
    op.create_index("ix_b24_outbox_claim", "b24_outbox", ["state", "phase", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_b24_outbox_claim", table_name="b24_outbox")
    op.drop_table("b24_outbox")
