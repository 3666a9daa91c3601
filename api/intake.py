"""The ingestion hot path: route, key, and durably store accepted alerts with group commit.

Many concurrent requests hand their alerts to one writer task, which stores everything that
arrived meanwhile in a single transaction and then releases every waiting request. With
SQLite's single writer this turns N small commits into one, which is what lets the API store
every alert before answering and still take storms. The transaction itself runs wherever the
`AlertWriter` runs it (`api.alert_writer`: a thread, or a child process on SQLite).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from api.alert_writer import AlertWriter
from infra.db.repositories import alerts as repo
from workflows.domain.alerts import Alert
from workflows.domain.grouping import dedup_key
from workflows.domain.incidents import RouteDecision

log = logging.getLogger(__name__)

Router = Callable[[Alert], RouteDecision]
MAX_GROUP = 5_000  # alerts per transaction: bounds commit latency under a flood
ROUTE_CACHE_SIZE = 50_000
# Entries hold their alert alive: bounded like the sources' memo (api.ingest.memo), ~4 KB each.
INSTANCE_CACHE_SIZE = 20_000


@dataclass
class _Pending:
    items: list[repo.AlertRecord]
    done: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class RecordBuilder:
    """Routes and keys alerts into `AlertRecord`s, remembering what storms repeat. Runs where the
    parsing runs: in the API process, or in each parser process (`api.parse_pool`)."""

    def __init__(self, router: Router) -> None:
        self._router = router
        # Storms are mostly repeats: route and key each identity once per config version.
        self._routes: dict[tuple, tuple[RouteDecision, str, bytes]] = {}
        self._routes_version: object = None
        self._by_instance: dict[int, tuple[Alert, str, repo.AlertRecord]] = {}

    def records(self, alerts: list[Alert], key_id: str) -> list[repo.AlertRecord]:
        self._check_routes_version()
        return [self._routed(a, key_id) for a in alerts]

    def _check_routes_version(self) -> None:
        version = getattr(self._router, "version", None)
        if version != self._routes_version or len(self._routes) > ROUTE_CACHE_SIZE:
            self._routes, self._routes_version = {}, version
            self._by_instance = {}

    def _routed(self, alert: Alert, key_id: str) -> repo.AlertRecord:
        # Repeats arrive as the very same frozen instance (the sources' memo): reuse the whole
        # record without hashing the alert's tags. The entry holds the alert, so its id()
        # cannot be reused by another object while the entry exists.
        hit = self._by_instance.get(id(alert))
        if hit is not None and hit[0] is alert and hit[1] == key_id:
            return hit[2]
        # The fingerprint covers the labels and the tags derive from labels and annotations,
        # so (fingerprint, tags) determines the route and the key.
        cache_key = (alert.fingerprint, alert.tags)
        route = self._routes.get(cache_key)
        if route is None:
            decision = self._router(alert)
            route = self._routes[cache_key] = (
                decision, dedup_key(alert, decision.group_by, decision.split_by_scope),
                repo.route_json_of(decision))
        record = repo.record_of(alert, route[0], route[1], key_id, route_json=route[2])
        if len(self._by_instance) >= INSTANCE_CACHE_SIZE:
            self._by_instance = {}
        self._by_instance[id(alert)] = (alert, key_id, record)
        return record


class AlertIntake:
    """Accepts alerts and returns once they are durable. Start with `start()`, stop with `stop()`."""

    def __init__(self, writer: AlertWriter, router: Router) -> None:
        self._writer = writer
        self.builder = RecordBuilder(router)
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._task: asyncio.Task | None = None
        self.stored_signal = asyncio.Event()  # wakes the outbox dispatcher

    async def start(self) -> None:
        await self._writer.start()
        self._task = asyncio.create_task(self._write_loop(), name="alert-intake-writer")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._writer.close()

    async def accept(self, alerts: list[Alert], key_id: str) -> None:
        """Route and store `alerts`; raises if the database refused them (nothing is half-stored)."""
        await self.store(self.builder.records(alerts, key_id))

    async def store(self, records: list[repo.AlertRecord]) -> None:
        """Store records already routed; raises if the database refused them."""
        if not records:
            return
        pending = _Pending(records)
        await self._queue.put(pending)
        await pending.done

    async def _write_loop(self) -> None:
        while True:
            group = [await self._queue.get()]
            size = len(group[0].items)
            while not self._queue.empty() and size < MAX_GROUP:
                group.append(self._queue.get_nowait())
                size += len(group[-1].items)
            await self._commit(group)

    async def _commit(self, group: list[_Pending]) -> None:
        items = [i for p in group for i in p.items]
        try:
            written = await self._writer.store(items, datetime.now(UTC))
        except Exception as err:  # boundary: every waiting request gets the failure
            log.exception("storing %d alerts failed", len(items))
            for p in group:
                if not p.done.done():
                    p.done.set_exception(err)
            return
        for p in group:
            if not p.done.done():
                p.done.set_result(None)
        if written:
            self.stored_signal.set()
