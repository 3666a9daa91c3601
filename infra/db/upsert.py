"""Dialect-portable INSERT ... ON CONFLICT, the one SQL construct SQLite and PostgreSQL spell alike."""

from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection


def insert_for(conn: Connection, table: Table):
    """An `insert()` of the connection's dialect, which supports `on_conflict_do_*`."""
    module = postgresql if conn.dialect.name == "postgresql" else sqlite
    return module.insert(table)
