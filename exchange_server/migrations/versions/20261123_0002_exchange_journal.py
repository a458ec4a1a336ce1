"""Exchange journal: sessions, packages, files, steps.

Revision ID: 20261123_0002
Revises: 20261123_0001
Create Date: 2026-11-23

Self-contained: types are spelled out here, not imported from ``exchange_server.db.journal_tables``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261123_0002"
down_revision: str | Sequence[str] | None = "20261123_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DATA = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "exchange_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("user", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("sessid", sa.String(length=32), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=True),
        sa.Column("cml_version", sa.String(length=32), nullable=True),
        sa.Column("package_id", sa.String(length=36), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("query_batch", JSON_DATA, nullable=True),
        sa.Column("remote", sa.String(length=255), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_sessions")),
    )
    op.create_index(
        "ix_exchange_sessions_user_kind", "exchange_sessions", ["user", "kind", "created_at"], unique=False
    )
    op.create_table(
        "exchange_packages",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("user", sa.String(length=255), nullable=False),
        sa.Column("directory", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["exchange_sessions.id"],
            name=op.f("fk_exchange_packages_session_id_exchange_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_packages")),
    )
    op.create_index(
        op.f("ix_exchange_packages_session_id"), "exchange_packages", ["session_id"], unique=False
    )
    op.create_table(
        "exchange_files",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("package_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("chunks", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("last_chunk_sha256", sa.String(length=64), nullable=True),
        sa.Column("last_chunk_size", sa.BigInteger(), nullable=True),
        sa.Column("is_archive", sa.Boolean(), nullable=False),
        sa.Column("unpacked", sa.Boolean(), nullable=False),
        sa.Column("import_state", sa.String(length=16), nullable=False),
        sa.Column("import_status", sa.Text(), nullable=True),
        sa.Column("import_error", sa.Text(), nullable=True),
        sa.Column("remarks", JSON_DATA, nullable=True),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("import_started_at", TS, nullable=True),
        sa.Column("import_finished_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["package_id"],
            ["exchange_packages.id"],
            name=op.f("fk_exchange_files_package_id_exchange_packages"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_files")),
    )
    op.create_index("ix_exchange_files_package_name", "exchange_files", ["package_id", "name"], unique=True)
    op.create_table(
        "exchange_steps",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=True),
        sa.Column("package_id", sa.String(length=36), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=True),
        sa.Column("mode", sa.String(length=16), nullable=True),
        sa.Column("filename", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reply", sa.Text(), nullable=False),
        sa.Column("bytes_in", sa.BigInteger(), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_steps")),
    )
    op.create_index(op.f("ix_exchange_steps_session_id"), "exchange_steps", ["session_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_exchange_steps_session_id"), table_name="exchange_steps")
    op.drop_table("exchange_steps")
    op.drop_index("ix_exchange_files_package_name", table_name="exchange_files")
    op.drop_table("exchange_files")
    op.drop_index(op.f("ix_exchange_packages_session_id"), table_name="exchange_packages")
    op.drop_table("exchange_packages")
    op.drop_index("ix_exchange_sessions_user_kind", table_name="exchange_sessions")
    op.drop_table("exchange_sessions")
