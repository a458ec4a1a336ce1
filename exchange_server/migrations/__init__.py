"""Alembic migrations of the exchange node's schema (script location ``exchange_server:migrations``)."""
