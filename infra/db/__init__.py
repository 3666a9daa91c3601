"""Database: engine, tables, repositories, migrations (Alembic). SQLite by default, PostgreSQL in production."""
