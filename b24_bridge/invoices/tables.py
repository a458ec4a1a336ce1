"""Tables of the invoice sync (migration ``exchange_server/migrations/versions/*_b24_invoices.py``).

* ``b24_status_maps``: the current status map (one row per key, ``default``), JSON.
* ``b24_status_map_journal``: every change of it: who, when, the diff and the new map.
* ``b24_invoice_links``: local order id (the ``Ид`` 1C knows) <-> portal invoice, where the invoice came
  from, the digest of the invoice as last synced (echo and conflict detection), and why it waits.
* ``b24_invoice_pending``: 1C changes not yet written to the portal (durable retry).
* ``b24_sync_state``: small key/value bookmarks (last poll time).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from exchange_server.db.base import Base

__all__ = ["InvoiceLink", "InvoicePending", "StatusMapJournal", "StatusMapRow", "SyncState"]

_JSON = JSON().with_variant(JSONB(), "postgresql")
_TS = DateTime(timezone=True)


class StatusMapRow(Base):
    __tablename__ = "b24_status_maps"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(_JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(_TS)
    updated_by: Mapped[str] = mapped_column(String(255))


class StatusMapJournal(Base):
    __tablename__ = "b24_status_map_journal"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[dt.datetime] = mapped_column(_TS)
    changed_by: Mapped[str] = mapped_column(String(255))
    diff: Mapped[dict[str, Any]] = mapped_column(_JSON)
    data: Mapped[dict[str, Any]] = mapped_column(_JSON)


class InvoiceLink(Base):
    __tablename__ = "b24_invoice_links"
    __table_args__ = (Index("ix_b24_invoice_links_invoice", "entity", "invoice_id", unique=True),)

    order_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    entity: Mapped[str] = mapped_column(String(8))
    invoice_id: Mapped[int] = mapped_column(Integer)
    origin: Mapped[str] = mapped_column(String(8))
    b24_hash: Mapped[str | None] = mapped_column(String(64))
    rows_hash: Mapped[str | None] = mapped_column(String(64))
    applied_1c: Mapped[str | None] = mapped_column(String(64))
    export_rows_hash: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(_TS)


class InvoicePending(Base):
    __tablename__ = "b24_invoice_pending"

    order_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(_TS)


class SyncState(Base):
    __tablename__ = "b24_sync_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
