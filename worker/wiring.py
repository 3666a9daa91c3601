"""Composition root: which workflows and activities a worker runs, built from constructed clients.

Two task queues: `incidents` runs the workflows and the activities they need close at hand
(projection, on-call lookup, page-not-delivered, analysis); `notifications` runs `notify.send`
on its own Worker so paging is scaled and rate-limited apart from everything else.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Self

import httpx
from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.worker import Worker

from activities.digest import DigestActivities
from activities.notify.activity import NotifyActivities
from activities.oncall import OncallActivities
from activities.record import RecordActivities
from activities.undelivered import UndeliveredActivities
from infra.config.store import ConfigStore
from infra.settings.escalation import EscalationSettings
from workflows.digest import DigestWorkflow
from workflows.incident import IncidentWorkflow
from workflows.side_effects import NOTIFY_TASK_QUEUE, TASK_QUEUE

WORKFLOWS: list[type] = [IncidentWorkflow, DigestWorkflow]
# A workflow task waits this long on a dead worker's sticky queue before any worker may take it
# (SDK default 10 s): after a crash it bounds how late the next page or an ack can be.
STICKY_TIMEOUT = timedelta(seconds=3)


@dataclass
class Dependencies:
    """Everything activities need, constructed once at the edge.

    `notify` None means this worker does not poll the notifications queue (another does).
    """

    engine: Engine
    escalation: EscalationSettings = field(default_factory=EscalationSettings)
    link_base: str = ""
    notify: NotifyActivities | None = None
    extra_activities: list[Any] = field(default_factory=list)  # analysis_activities(...)

    @classmethod
    def from_settings(cls, settings, engine: Engine) -> Dependencies:
        """Build every client once from `Settings` (vendor SDKs, HTTP, analyzer)."""
        from activities.llm.fallback import build_analyzer
        from activities.llm.prometheus import build_alert_metrics
        from activities.notify.registry import NotifyClients, build_notify_activities

        http = httpx.AsyncClient()  # lives as long as the worker process
        clients = NotifyClients.from_settings(settings.notify, http)
        return cls(engine=engine, escalation=settings.escalation,
                   link_base=settings.api_base_url,
                   notify=build_notify_activities(settings.notify, clients, engine),
                   extra_activities=analysis_activities(engine, build_analyzer(settings.ai),
                                                        build_alert_metrics(settings.ai)))


def analysis_activities(engine: Engine, analyzer, metrics=None) -> list[Any]:
    """`analysis.*` + `record.analysis` (what AnalysisFlow calls) and the plain `llm.*` calls.
    `metrics` (Prometheus, optional) feeds the alerts' recent values into diagnosis."""
    from activities.analysis_record import AnalysisRecordActivities
    from activities.llm.activities import AnalysisActivities

    recorded = AnalysisRecordActivities(engine, analyzer, metrics=metrics)
    plain = AnalysisActivities(analyzer)
    return [recorded.classify, recorded.diagnose, recorded.postmortem, recorded.record_analysis,
            plain.classify, plain.diagnose, plain.postmortem]


def activities(deps: Dependencies) -> list[Any]:
    """Every activity of the incidents queue; one line per activity class."""
    record = RecordActivities(deps.engine)
    oncall = OncallActivities(ConfigStore(deps.engine), deps.escalation, deps.link_base)
    undelivered = UndeliveredActivities(deps.engine, deps.escalation.default_policy_id)
    digest = DigestActivities(deps.engine, ConfigStore(deps.engine))
    return [record.record_incident, oncall.snapshot, undelivered.raise_page_not_delivered,
            digest.collect, *deps.extra_activities]


class Workers:
    """The process's workers, run together: `async with build_worker(...)`."""

    def __init__(self, workers: list[Worker]) -> None:
        self.workers = workers
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> Self:
        for worker in self.workers:
            await self._stack.enter_async_context(worker)
        return self

    async def __aexit__(self, *exc) -> None:
        await self._stack.aclose()


def build_worker(client: Client, deps: Dependencies, task_queue: str = TASK_QUEUE) -> Workers:
    """Workflows poll `task_queue`; `notify.send` always polls the notifications queue, the
    name the workflow sends pages to."""
    incidents = Worker(client, task_queue=task_queue, workflows=WORKFLOWS,
                       activities=activities(deps),
                       sticky_queue_schedule_to_start_timeout=STICKY_TIMEOUT)
    if deps.notify is None:
        return Workers([incidents])
    notifications = Worker(client, task_queue=NOTIFY_TASK_QUEUE, activities=[deps.notify.send])
    return Workers([incidents, notifications])
