"""The durable Bitrix24 outbox: one row per portal entity, its wanted and pushed content hashes."""
