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


def test_repeat_counts_survive_the_move_to_alert_counters(db_url):
    # 0005 moved `occurrences` / `last_received_at` off the wide alerts row; stored counts must
    # come along (and go back on downgrade).
    from datetime import UTC, datetime

    from sqlalchemy import text

    from infra.db.repositories import alerts

    seen = datetime(2026, 11, 23, 12, 5, tzinfo=UTC)
    downgrade(db_url, "0004")
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO alerts (id, fingerprint, dedup_key, source, status, title, description,"
            " labels, annotations, service, env, severity, team, model_id, metric_type,"
            " starts_at, generator_url, received_at, last_received_at, occurrences, key_id)"
            " VALUES ('al_1', 'fp', 'k', 'test', 'firing', 't', '', '{}', '{}', '', '', 'high',"
            " '', '', '', :at, '', :at, :seen, 7, '')"), {"at": seen.replace(minute=0), "seen": seen})
    upgrade(db_url)
    row = alerts.get_alert(engine, "al_1")
    assert row["occurrences"] == 7 and row["last_received_at"].replace(tzinfo=UTC) == seen
    downgrade(db_url, "0004")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT occurrences FROM alerts")).scalar_one() == 7
    engine.dispose()
    upgrade(db_url)
