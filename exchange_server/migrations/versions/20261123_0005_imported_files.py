"""Imported catalog files by sha256: the same file sent again is not read again when nothing changed.

Revision ID: 20261123_0005
Revises: 20261123_0004
Create Date: 2026-11-23

Self-contained: types are spelled out here, not imported from ``exchange_server.db.tables``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261123_0005"
down_revision: str | Sequence[str] | None = "20261123_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DATA = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
ID = sa.String(length=255)


def upgrade() -> None:
    op.create_table(
        "imported_files",
        sa.Column("package_id", ID, nullable=False),
        sa.Column("file", sa.String(length=1024), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("row_format", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("schema_version", sa.String(length=32), nullable=True),
        sa.Column("changes_only", sa.Boolean(), nullable=True),
        sa.Column("warnings", JSON_DATA, nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("package_id", "file", name=op.f("pk_imported_files")),
    )
    op.create_index(op.f("ix_imported_files_sha256"), "imported_files", ["sha256"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_imported_files_sha256"), table_name="imported_files")
    op.drop_table("imported_files")
