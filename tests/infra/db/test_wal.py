"""WAL checkpoints happen off the writer's path, and a backstop still bounds the WAL."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from infra.db.engine import AUTOCHECKPOINT_PAGES, make_engine
from infra.db.wal import checkpoint, checkpoint_forever


def test_commits_leave_checkpointing_to_the_checkpointer(sqlite_url):
    engine = make_engine(sqlite_url)
    try:
        with engine.begin() as conn:
            assert conn.execute(text("PRAGMA wal_autocheckpoint")).scalar() == AUTOCHECKPOINT_PAGES
            conn.execute(text("CREATE TABLE t (v TEXT)"))
            conn.execute(text("INSERT INTO t VALUES (:v)"), [{"v": "x" * 500}] * 2000)
        busy, frames, done = checkpoint(engine)
        assert busy == 0 and frames > 0 and done == frames  # the commit did not checkpoint
        assert checkpoint(engine)[2] == checkpoint(engine)[1]
    finally:
        engine.dispose()


async def test_the_checkpointer_stops_when_asked(sqlite_url):
    engine = make_engine(sqlite_url)
    stop = asyncio.Event()
    task = asyncio.create_task(checkpoint_forever(engine, stop, interval=0.05))
    await asyncio.sleep(0.2)
    stop.set()
    await asyncio.wait_for(task, timeout=5)
    engine.dispose()


async def test_the_checkpointer_does_nothing_on_postgresql(postgres_url):
    engine = make_engine(postgres_url)
    try:
        await asyncio.wait_for(checkpoint_forever(engine, asyncio.Event()), timeout=5)
    finally:
        engine.dispose()
