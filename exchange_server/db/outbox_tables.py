"""Registers the Bitrix24 outbox table on ``Base.metadata`` (migrations and the schema test import
every module of ``exchange_server.db``); the declaration lives in ``exchange_server.outbox.tables``."""

from exchange_server.outbox.tables import OutboxRow

__all__ = ["OutboxRow"]
