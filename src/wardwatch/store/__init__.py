"""Storage: SQLAlchemy 2 tables, repositories and Alembic migrations, on SQLite (default) or PostgreSQL."""
