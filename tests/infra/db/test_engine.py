"""Engines: ingestion's writer takes SQLite's write lock at once, not after a long nap."""

from __future__ import annotations

import sqlite3
import threading
import time

from sqlalchemy import text

from infra.db.engine import make_priority_writer_engine


def test_the_priority_writer_waits_out_a_held_lock_in_short_steps(sqlite_url):
    other = sqlite3.connect(sqlite_url.split(":///", 1)[1], isolation_level=None,
                            check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # someone else, say the worker's projection, writes
    released: list[float] = []
    threading.Timer(0.3, lambda: (released.append(time.monotonic()), other.execute("COMMIT"))
                    ).start()
    engine = make_priority_writer_engine(sqlite_url)
    try:
        with engine.begin() as conn:  # the write lock is taken here, at BEGIN
            conn.execute(text("INSERT INTO ingest_counters (name, value) VALUES ('t', 1)"))
            took = time.monotonic()
        # SQLite's own handler would be asleep until ~328 ms (its 25 ms naps by then): 28 ms
        # late. The retry loop is back within a few half-millisecond steps.
        assert took - released[0] < 0.02
        with engine.connect() as conn:
            assert conn.execute(text("SELECT value FROM ingest_counters WHERE name = 't'")
                                ).scalar() == 1
    finally:
        engine.dispose()
        other.close()
