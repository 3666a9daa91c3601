"""Engine construction: the only place that knows SQLite from PostgreSQL."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import orjson
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
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


def make_priority_writer_engine(url: str) -> Engine:
    """An engine for the one process that must win SQLite's write lock: ingestion's writer.

    SQLite's own busy handler waits 1, 2, 5, 10 ... 100 ms between tries, so a writer that
    meets the worker's projections (many short transactions on the same file) could sleep
    through many free moments and stall a whole group commit; measured in a storm on open
    incidents, ingestion fell to a fifth. This engine takes the lock at BEGIN (IMMEDIATE)
    and retries every half millisecond for up to the usual 30 s. It also makes the reads a
    transaction does before its first write part of the same snapshot. Other engines are
    unchanged; PostgreSQL gets a plain engine.
    """
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _driver_autocommit)
        event.listen(engine, "begin", _begin_immediate)
    return engine


BUSY_RETRY_SECONDS = 0.0005
BUSY_GIVE_UP_SECONDS = 30.0


def _driver_autocommit(dbapi_conn, _record) -> None:
    # The driver must not open transactions itself: `_begin_immediate` does (SQLAlchemy's
    # documented recipe for pysqlite). Busy answers come back at once, for our retry loop.
    dbapi_conn.isolation_level = None
    dbapi_conn.execute("PRAGMA busy_timeout=0")


def _begin_immediate(conn) -> None:
    give_up = time.monotonic() + BUSY_GIVE_UP_SECONDS
    while True:
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            return
        except OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > give_up:
                raise
            time.sleep(BUSY_RETRY_SECONDS)


def _dumps(value) -> str:
    # orjson: the ingestion path serialises labels for every new alert; stdlib json is ~5x slower.
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


# A commit that takes the WAL past this many pages (160 MB) checkpoints inline: the only thing
# that restarts the WAL under constant writes. High, because a background checkpointer
# (infra.db.wal) does the copying off the writer's path; why 40,000 is there. The WAL file
# keeps the largest size it reached.
AUTOCHECKPOINT_PAGES = 40_000


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
