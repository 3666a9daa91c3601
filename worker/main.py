"""The worker process: connects, builds every activity's dependencies once, and polls until told to stop."""

from __future__ import annotations

import asyncio
import logging
import signal

from infra.db.engine import make_engine
from infra.settings import Settings
from infra.temporal import connect, runtime_with_metrics
from worker.schedules import ensure_digest_schedule
from worker.wiring import Dependencies, build_worker

log = logging.getLogger(__name__)
CONNECT_ATTEMPTS = 30


async def run_worker(settings: Settings) -> None:
    """Run until SIGTERM/SIGINT, then finish in-flight tasks (graceful shutdown)."""
    client = await _connect_with_retry(settings)
    await ensure_digest_schedule(client, settings.escalation.digest_interval)
    deps = Dependencies.from_settings(settings, make_engine(settings.db_url))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with build_worker(client, deps):
        log.info("worker polling %s at %s", "incidents", settings.temporal_address)
        await stop.wait()
    log.info("worker stopped")


async def _connect_with_retry(settings: Settings):
    runtime = None
    if settings.worker_metrics_address:
        runtime = runtime_with_metrics(settings.worker_metrics_address)
        log.info("worker metrics at http://%s/metrics", settings.worker_metrics_address)
    for attempt in range(1, CONNECT_ATTEMPTS + 1):
        try:
            return await connect(settings.temporal_address, settings.temporal_namespace, runtime)
        except Exception as err:  # boundary: retried, then re-raised with the reason
            if attempt == CONNECT_ATTEMPTS:
                raise
            log.warning("Temporal at %s not reachable (%s); retrying", settings.temporal_address, err)
            await asyncio.sleep(1)
