"""SQLite WAL checkpoints off the ingestion writer's path.

SQLite checkpoints (copies the WAL back into the database file, then fsyncs both) inside the
commit that takes the WAL over `wal_autocheckpoint` pages. A storm's group commit dirties about
a thousand pages, so with the default (1,000) nearly every commit paid for a checkpoint: about
two thirds of the commit's cost, measured on the storm (27 → 8 µs per alert).

So SQLite engines set a high `wal_autocheckpoint` (`engine.AUTOCHECKPOINT_PAGES`, the backstop
that keeps the WAL bounded if nothing else checkpoints) and the API, the process that writes
storms, runs `checkpoint_forever`: a PASSIVE checkpoint every second on its own connection. PASSIVE
never blocks the writer, and SQLite does the copying and fsyncs without the GIL.

What this does not do (measured with strace on the storm): under writes that never pause, the
WAL cannot restart from its beginning, because a PASSIVE checkpoint never catches up with a
writer that is always a commit ahead. So the writer's own backstop still fires every
`AUTOCHECKPOINT_PAGES` (about every 0.6 s at 10,000 alerts/s); by then the pages are copied
and it mostly pays the two fsyncs (10-40 ms here), then the WAL restarts. Disabling the
backstop let the WAL grow to 900 MB in 15 s; raising it to 50,000 pages made the stalls longer.
A RESTART checkpoint right after the PASSIVE one once the WAL passed 4,000 pages did take the
fsyncs off the writer (strace: 5 left in 8 s, 2 ms in all) but did not lower the p99 in three
runs, so it is not kept: the commit stalls are not what the tail is made of.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.engine import Engine

from infra.db.engine import is_sqlite

log = logging.getLogger(__name__)
INTERVAL_SECONDS = 1.0


def checkpoint(engine: Engine) -> tuple[int, int, int]:
    """One PASSIVE checkpoint: (busy, frames in the WAL, frames checkpointed), SQLite's answer."""
    with engine.connect() as conn:
        busy, frames, done = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
    return busy, frames, done


async def checkpoint_forever(engine: Engine, stop: asyncio.Event,
                             interval: float = INTERVAL_SECONDS) -> None:
    """Checkpoint `engine`'s WAL every `interval` seconds until `stop`; a no-op on PostgreSQL."""
    if not is_sqlite(engine):
        return
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            pass
        try:
            await asyncio.to_thread(checkpoint, engine)
        except Exception as err:  # noqa: BLE001 - the backstop autocheckpoint still bounds the WAL
            log.warning("WAL checkpoint failed (%s); retrying in %.0f s", err, interval)
