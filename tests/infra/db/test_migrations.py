"""Alembic migrations create the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import infra.db.tables  # noqa: F401  (every table on the metadata)
from infra.db.engine import make_engine
from infra.db.migrate import downgrade, upgrade


def _drift(url: str) -> list:
    engine = make_engine(url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(ctx, SQLModel.metadata)
    engine.dispose()
    return diff


def test_migrations_match_the_models(db_url):
    assert _drift(db_url) == []


def test_migrations_downgrade_and_upgrade_again(db_url):
    downgrade(db_url, "base")
    upgrade(db_url)
    assert _drift(db_url) == []
