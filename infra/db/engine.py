"""Engine construction: the only place that knows SQLite from PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import create_engine


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """An engine for `url`, tuned for the store it points at.

    SQLite gets WAL (readers never block the single writer), synchronous=NORMAL (durable across
    process crashes; a power cut may lose the last transactions, the documented WAL trade-off)
    and a busy timeout so concurrent writers queue instead of failing. Checkpoints are left to
    `infra.db.wal` where a process runs it; `AUTOCHECKPOINT_PAGES` is only the backstop.
    """
    if url.startswith("sqlite"):
        _ensure_parent_dir(url)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               json_serializer=_dumps)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True,
                         json_serializer=_dumps)


def _dumps(value) -> str:
    # orjson: the ingestion path serialises labels for every new alert; stdlib json is ~5x slower.
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


# A commit that takes the WAL past this many pages (40 MB) checkpoints inline. High, because a
# background checkpointer (infra.db.wal) normally does it off the writer's path; still bounded.
AUTOCHECKPOINT_PAGES = 10_000


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _ensure_parent_dir(url: str) -> None:
    path = url.split(":///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def as_utc(moment: datetime) -> datetime:
    """A stored time, aware: SQLite hands datetimes back naive, and every stored time is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
