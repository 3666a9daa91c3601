"""SQLite WAL checkpoints off the ingestion writer's path.

SQLite checkpoints (copies the WAL back into the database file, then fsyncs both) inside the
commit that takes the WAL over `wal_autocheckpoint` pages. A storm's group commit dirties about
a thousand pages, so with the default (1,000) nearly every commit paid for a checkpoint: about
two thirds of the commit's cost, measured on the storm (27 → 8 µs per alert).

So SQLite engines set a high `wal_autocheckpoint` (`engine.AUTOCHECKPOINT_PAGES`, the backstop
that keeps the WAL bounded) and the API, the process that writes storms, runs
`checkpoint_forever`: PASSIVE checkpoints on their own connection. PASSIVE never blocks the
writer, and SQLite does the copying and fsyncs without the GIL.

Under writes that never pause the WAL cannot restart from its beginning, because a PASSIVE
checkpoint never catches a writer that is always a commit ahead; only the writer's own backstop
restarts it, inside a commit. What that commit pays is what the checkpointer left: fsyncing the
WAL written since its last pass, copying the frames it has not copied, fsyncing the database.
With a pass every second that was ~60 MB of WAL at 10,000 alerts/s: commits of 70-130 ms every
0.6 s (timed in the writer), which were most of the ingestion p99. So while the WAL grows the
checkpointer passes every `BUSY_INTERVAL` (50 ms), and the backstop is 40,000 pages: it fires
every ~2.5 s of a storm and costs 5-40 ms. Measured, API alone, 10,000 alerts/s: writer commit
p99 39-49 ms → 5-8 ms. Once passes have found nothing new for `IDLE_INTERVAL` (1 s), the
checkpointer waits that long between them.
(A RESTART checkpoint in the checkpointer does not help: it makes the writer wait at BEGIN.)
"""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy.engine import Engine

from infra.db.engine import is_sqlite

log = logging.getLogger(__name__)
BUSY_INTERVAL = 0.05  # seconds between passes while the WAL grows
IDLE_INTERVAL = 1.0  # after a pass that found nothing new


def checkpoint(engine: Engine) -> tuple[int, int, int]:
    """One PASSIVE checkpoint: (busy, frames in the WAL, frames checkpointed), SQLite's answer."""
    with engine.connect() as conn:
        busy, frames, done = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
    return busy, frames, done


async def checkpoint_forever(engine: Engine, stop: asyncio.Event,
                             busy_interval: float = BUSY_INTERVAL,
                             idle_interval: float = IDLE_INTERVAL) -> None:
    """Checkpoint `engine`'s WAL until `stop`: every `busy_interval` seconds until passes have
    found nothing new for `idle_interval` seconds, then every `idle_interval`; a no-op on
    PostgreSQL."""
    if not is_sqlite(engine):
        return
    interval, last, changed_at = idle_interval, None, 0.0
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
            return
        except TimeoutError:
            pass
        try:
            result = await asyncio.to_thread(checkpoint, engine)
        except Exception as err:  # noqa: BLE001 - the backstop autocheckpoint still bounds the WAL
            log.warning("WAL checkpoint failed (%s); retrying in %.0f s", err, idle_interval)
            interval = idle_interval
            continue
        now = time.monotonic()
        if result != last:
            last, changed_at = result, now
        interval = busy_interval if now - changed_at < idle_interval else idle_interval
