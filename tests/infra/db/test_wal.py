"""WAL checkpoints happen off the writer's path, and a backstop still bounds the WAL."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from infra.db import wal
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
    task = asyncio.create_task(checkpoint_forever(engine, stop, busy_interval=0.05,
                                                  idle_interval=0.05))
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


async def test_the_checkpointer_keeps_up_while_the_wal_grows_and_rests_when_quiet(sqlite_url,
                                                                                monkeypatch):
    """The writer's commit pays for whatever the checkpointer left: while commits arrive the
    passes come every `busy_interval`; once nothing changes, every `idle_interval`."""
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (v TEXT)"))
    passes: list[tuple] = []

    def counted(engine_):
        passes.append(result := checkpoint(engine_))
        return result

    monkeypatch.setattr(wal, "checkpoint", counted)
    stop = asyncio.Event()
    task = asyncio.create_task(checkpoint_forever(engine, stop, busy_interval=0.01,
                                                  idle_interval=0.3))
    try:
        for _ in range(40):  # ~1 s of commits
            await asyncio.to_thread(_commit, engine)
            await asyncio.sleep(0.02)
        busy_passes = len(passes)
        await asyncio.sleep(1.0)  # quiet for longer than idle_interval
        settled = len(passes)
        await asyncio.sleep(1.0)
        quiet_passes = len(passes) - settled
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=5)
        engine.dispose()
    assert busy_passes >= 10  # at the idle pace there would be at most 3
    assert quiet_passes <= 5  # at the busy pace there would be dozens
    assert passes[-1][1] == passes[-1][2]  # and it caught up


def _commit(engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (:v)"), [{"v": "x" * 500}] * 50)
