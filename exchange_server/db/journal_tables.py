"""The exchange journal: sessions, packages, files and every step of every exchange. Declarations only.

Queries live in ``exchange_server.journal``; the schema is created by migration ``20261123_0002``,
which must match these classes.

* ``exchange_sessions``: one row per ``checkauth``, keyed by a digest of the cookie (never the cookie);
  the protocol state (``ExchangeSession.to_record()``) so any process can serve the next request of
  the exchange.
* ``exchange_packages``: one per ``init``; its directory, state and outcome, with timings.
* ``exchange_files``: every file of a package, uploaded or unpacked from an archive: size, chunk
  count, the last chunk's hash (for the duplicate-chunk rule), the whole file's sha256 (taken when it
  is imported), and the import state and its outcome.
* ``exchange_steps``: one row per HTTP request: mode, file, answer, bytes received, duration.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from exchange_server.db.base import Base

__all__ = ["ExchangeFile", "ExchangePackage", "ExchangeSessionRow", "ExchangeStep"]

_JSON = JSON().with_variant(JSONB(), "postgresql")
_TS = DateTime(timezone=True)


class ExchangeSessionRow(Base):
    """One exchange session of one 1C node (checkauth to the next checkauth)."""

    __tablename__ = "exchange_sessions"
    __table_args__ = (Index("ix_exchange_sessions_user_kind", "user", "kind", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    user: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16))
    sessid: Mapped[str] = mapped_column(String(32))
    timestamp: Mapped[int] = mapped_column(BigInteger)
    version: Mapped[str | None] = mapped_column(String(32))
    cml_version: Mapped[str | None] = mapped_column(String(32))
    package_id: Mapped[str | None] = mapped_column(String(36))
    error: Mapped[str | None] = mapped_column(Text)
    query_batch: Mapped[Any] = mapped_column(_JSON, nullable=True)
    remote: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(_TS)
    updated_at: Mapped[dt.datetime] = mapped_column(_TS)


class ExchangePackage(Base):
    """The files received between one init and the next, and what became of them."""

    __tablename__ = "exchange_packages"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("exchange_sessions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    user: Mapped[str] = mapped_column(String(255))
    directory: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[dt.datetime] = mapped_column(_TS)
    updated_at: Mapped[dt.datetime] = mapped_column(_TS)
    finished_at: Mapped[dt.datetime | None] = mapped_column(_TS)


class ExchangeFile(Base):
    """One file of a package: uploaded by 1C (in chunks) or unpacked from one of its archives."""

    __tablename__ = "exchange_files"
    __table_args__ = (Index("ix_exchange_files_package_name", "package_id", "name", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    package_id: Mapped[str] = mapped_column(ForeignKey("exchange_packages.id"))
    name: Mapped[str] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(16))  # "upload" | "archive"
    size: Mapped[int] = mapped_column(BigInteger)
    chunks: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64))
    last_chunk_sha256: Mapped[str | None] = mapped_column(String(64))
    last_chunk_size: Mapped[int | None] = mapped_column(BigInteger)
    is_archive: Mapped[bool] = mapped_column(Boolean)
    unpacked: Mapped[bool] = mapped_column(Boolean)
    import_state: Mapped[str] = mapped_column(String(16))  # none | running | done | failed
    import_status: Mapped[str | None] = mapped_column(Text)
    import_error: Mapped[str | None] = mapped_column(Text)
    remarks: Mapped[Any] = mapped_column(_JSON, nullable=True)
    received_at: Mapped[dt.datetime] = mapped_column(_TS)
    import_started_at: Mapped[dt.datetime | None] = mapped_column(_TS)
    import_finished_at: Mapped[dt.datetime | None] = mapped_column(_TS)


class ExchangeStep(Base):
    """One HTTP request of an exchange and the answer it got."""

    __tablename__ = "exchange_steps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str | None] = mapped_column(String(64), index=True)
    package_id: Mapped[str | None] = mapped_column(String(36))
    kind: Mapped[str | None] = mapped_column(String(16))
    mode: Mapped[str | None] = mapped_column(String(16))
    filename: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    reply: Mapped[str] = mapped_column(Text)
    bytes_in: Mapped[int] = mapped_column(BigInteger)
    started_at: Mapped[dt.datetime] = mapped_column(_TS)
    duration_ms: Mapped[int] = mapped_column(Integer)
