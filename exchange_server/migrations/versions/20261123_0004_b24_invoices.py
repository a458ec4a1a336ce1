"""Invoice sync: status map and its journal, invoice links, pending 1C changes, bookmarks.

Revision ID: 20261123_0004
Revises: 20261123_0003
Create Date: 2026-11-23

Self-contained: types are spelled out here, not imported from ``b24_bridge.invoices.tables``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261123_0004"
down_revision: str | Sequence[str] | None = "20261123_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DATA = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "b24_status_maps",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("data", JSON_DATA, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("updated_by", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_b24_status_maps")),
    )
    op.create_table(
        "b24_status_map_journal",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("changed_at", TS, nullable=False),
        sa.Column("changed_by", sa.String(length=255), nullable=False),
        sa.Column("diff", JSON_DATA, nullable=False),
        sa.Column("data", JSON_DATA, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_b24_status_map_journal")),
    )
    op.create_table(
        "b24_invoice_links",
        sa.Column("order_id", sa.String(length=255), nullable=False),
        sa.Column("entity", sa.String(length=8), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("origin", sa.String(length=8), nullable=False),
        sa.Column("b24_hash", sa.String(length=64), nullable=True),
        sa.Column("rows_hash", sa.String(length=64), nullable=True),
        sa.Column("applied_1c", sa.String(length=64), nullable=True),
        sa.Column("export_rows_hash", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_b24_invoice_links")),
    )
    op.create_index(
        "ix_b24_invoice_links_invoice", "b24_invoice_links", ["entity", "invoice_id"], unique=True
    )
    op.create_table(
        "b24_invoice_pending",
        sa.Column("order_id", sa.String(length=255), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_b24_invoice_pending")),
    )
    op.create_table(
        "b24_sync_state",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_b24_sync_state")),
    )


def downgrade() -> None:
    op.drop_table("b24_sync_state")
    op.drop_table("b24_invoice_pending")
    op.drop_index("ix_b24_invoice_links_invoice", table_name="b24_invoice_links")
    op.drop_table("b24_invoice_links")
    op.drop_table("b24_status_map_journal")
    op.drop_table("b24_status_maps")
