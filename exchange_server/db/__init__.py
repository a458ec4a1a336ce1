"""Storage: SQLAlchemy 2.0 async on SQLite (aiosqlite, WAL) and PostgreSQL (asyncpg)."""
