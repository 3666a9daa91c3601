"""Starting incidents the way the dispatcher does, for workflow tests."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy

from workflows.domain.alerts import AlertStatus
from workflows.domain.base import Severity
from workflows.domain.incidents import AlertBatch, AlertChange, IncidentInput, RouteDecision
from workflows.incident import IncidentWorkflow

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def change(n: int = 1, status: AlertStatus = AlertStatus.FIRING, *, fp: str | None = None,
           severity: Severity = Severity.HIGH, title: str = "HighLatency") -> AlertChange:
    return AlertChange(alert_id=f"a{n}-{status.value}", fingerprint=fp or f"fp{n}", status=status,
                       title=title, severity=severity, service="inference-api", env="prod",
                       at=T0, reason="group_by alertname,service,env")


async def signal_alerts(client: Client, queue: str, key: str, *changes: AlertChange,
                        repeats: int = 0, flap: timedelta = timedelta(minutes=15),
                        auto_resolve: bool = True) -> WorkflowHandle:
    route = RouteDecision(auto_resolve=auto_resolve)
    return await client.start_workflow(
        IncidentWorkflow.run,
        IncidentInput(dedup_key=key, route=route, flap_window=flap),
        id=f"incident-{key}", task_queue=queue,
        start_signal="alerts", start_signal_args=[AlertBatch(changes=list(changes), repeats=repeats)],
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )


async def eventually(check, timeout: float = 10.0):
    """Poll `check` (returns a truthy value when done) for asynchronous projections."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)
