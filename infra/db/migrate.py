"""Run Alembic migrations programmatically: the same path for `lim up`, `lim migrate` and tests."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from infra.db.engine import make_engine

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` up to `revision` (creating it if needed)."""
    make_engine(url).dispose()  # creates the SQLite parent directory
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)
