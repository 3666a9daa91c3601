"""Outbox → Temporal: signal-with-start each dedup key's pending alert changes, in order.

Runs inside the API process as a supervised task. Changes for one key are coalesced into a
single signal; keys are sent with bounded concurrency so a burst of new incidents queues here
(durably, in the outbox) instead of overloading the Temporal server. Re-sending after a crash
is harmless: the workflow ignores alert ids it has already seen.

Before sending, each drain reads the open incidents once and correlates every key that has no
open incident (`api.correlation`): near-duplicates join an existing incident's workflow,
symptoms of an open root open their own incident without paging. Why is written on the change.

Starting a new incident workflow is the expensive part (each runs record, on-call, classify and
analysis activities; the dev server completes ~40 trivial workflows/s on 2 cores), so new
incidents are started at most `new_incident_rate` per second (`StartRate`). A storm that opens
hundreds of incidents then queues here, durably, while signals to open incidents go on and the
API keeps the CPU it needs to accept alerts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)

from api.correlation import DispatchCorrelator, Target
from infra.db.repositories import alerts as repo
from infra.settings.ingest import IngestSettings
from workflows.domain.correlation import CorrelationKind
from workflows.domain.incidents import AlertBatch, AlertChange, IncidentInput, RouteDecision
from workflows.incident import IncidentWorkflow
from workflows.search import MEMO_TITLE, SA_ENV, SA_SERVICE, SA_SEVERITY, SA_STATUS

log = logging.getLogger(__name__)
IDLE_POLL_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 10.0


class StartRate:
    """A token bucket for new incident workflows: `per_second` sustained, `burst` at once.

    `reserve()` takes a token and says how long to wait for it; the balance may go negative, so
    concurrent callers queue in order instead of all waking at the same instant. A rate of 0 or
    less means unlimited.
    """

    def __init__(self, per_second: float, burst: int, clock=time.monotonic) -> None:
        self._rate = per_second
        self._burst = max(1, burst)
        self._clock = clock
        self._tokens = float(self._burst)
        self._at = clock()

    def reserve(self) -> float:
        """Seconds until the reserved start may go (0.0: now)."""
        if self._rate <= 0:
            return 0.0
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = now
        self._tokens -= 1
        return 0.0 if self._tokens >= 0 else -self._tokens / self._rate


def opens_incident(target: Target) -> bool:
    """Whether sending `target` starts a new incident workflow (not merely signals one)."""
    return target.decision is not None and target.decision.kind is not CorrelationKind.MERGE


class OutboxDispatcher:
    def __init__(self, engine: Engine, client: Client, task_queue: str,
                 settings: IngestSettings, wake: asyncio.Event,
                 correlator: DispatchCorrelator | None = None) -> None:
        self._engine = engine
        self._correlator = correlator or DispatchCorrelator(engine)
        self._client = client
        self._task_queue = task_queue
        self._settings = settings
        self._wake = wake
        self._limit = asyncio.Semaphore(settings.dispatch_concurrency)
        self._starts = StartRate(settings.new_incident_rate, settings.new_incident_burst)
        self.last_error = ""
        self.last_success_at: datetime | None = None

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Drain whenever woken (or every second) until `stop`; back off while Temporal refuses."""
        backoff = 0.0
        while not stop.is_set():
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=backoff or IDLE_POLL_SECONDS)
            except TimeoutError:
                pass
            self._wake.clear()
            failed = await self.drain()
            backoff = min(MAX_BACKOFF_SECONDS, max(0.5, backoff * 2)) if failed else 0.0

    async def drain(self) -> int:
        """Send everything pending; returns how many keys failed (they stay in the outbox)."""
        failed = 0
        while True:
            rows = await asyncio.to_thread(repo.pending_outbox, self._engine,
                                           self._settings.dispatch_batch)
            if not rows:
                return failed
            by_key: OrderedDict[str, list[dict]] = OrderedDict()
            for row in rows:
                by_key.setdefault(row["dedup_key"], []).append(row)
            targets = await self._plan(by_key)
            results = await asyncio.gather(*(self._send(t, rs)
                                             for t, rs in zip(targets, by_key.values())))
            self._correlator.started([t for ok, t in zip(results, targets) if ok],
                                     datetime.now(UTC))
            sent = [r["id"] for ok, rs in zip(results, by_key.values()) if ok for r in rs]
            failed += results.count(False)
            if sent:
                await asyncio.to_thread(repo.mark_dispatched, self._engine, sent,
                                        datetime.now(UTC), results.count(True))
                self.last_success_at = datetime.now(UTC)
            if failed or len(rows) < self._settings.dispatch_batch:
                return failed

    async def _plan(self, by_key: OrderedDict[str, list[dict]]) -> list[Target]:
        # On a thread: reading the changes and correlating a storm's new keys against the open
        # incidents took up to 116 ms per drain, and on the event loop every request waited.
        return await asyncio.to_thread(self._plan_now, by_key)

    def _plan_now(self, by_key: OrderedDict[str, list[dict]]) -> list[Target]:
        """Decide each key's target in outbox order, from one read of the open incidents."""
        snapshot = self._correlator.snapshot(datetime.now(UTC))
        return [snapshot.plan(key, [AlertChange.model_validate(r["change"]) for r in rows],
                              RouteDecision.model_validate(rows[0]["route"]))
                for key, rows in by_key.items()]

    async def _send(self, target: Target, rows: list[dict]) -> bool:
        key, changes, route = target.dedup_key, target.changes, target.route
        first = changes[0]
        # Wait for a start token before taking a concurrency slot, so queued starts never hold
        # up signals to incidents that are already open.
        if opens_incident(target) and (wait := self._starts.reserve()) > 0:
            await asyncio.sleep(wait)
        async with self._limit:
            try:
                await self._client.start_workflow(
                    IncidentWorkflow.run,
                    IncidentInput(dedup_key=key, route=route, flap_window=self._settings.flap_window),
                    id=target.workflow_id, task_queue=self._task_queue,
                    start_signal="alerts", start_signal_args=[AlertBatch(changes=changes)],
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                    id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                    search_attributes=TypedSearchAttributes([
                        SearchAttributePair(SA_STATUS, "triggered"),
                        SearchAttributePair(SA_SEVERITY, first.severity.value),
                        SearchAttributePair(SA_SERVICE, first.service or "-"),
                        SearchAttributePair(SA_ENV, first.env or "-")]),
                    memo={MEMO_TITLE: first.title},
                    static_summary=f"{first.title} ({key})",
                )
                return True
            except Exception as err:  # noqa: BLE001 - boundary: recorded on the rows and retried later
                self.last_error = f"{type(err).__name__}: {err}"
                log.warning("signal-with-start for %s failed: %s", key, self.last_error)
                await asyncio.to_thread(repo.mark_failed, self._engine, [r["id"] for r in rows],
                                        self.last_error)
                return False
