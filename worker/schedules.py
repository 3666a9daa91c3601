"""Temporal Schedules the worker keeps in place: declared on every start, so config is code.

`lim-digest` starts `DigestWorkflow` every `EscalationSettings.digest_interval`. Interval specs
are aligned to the Unix epoch, the same alignment `digest_period_start` uses, and fire a little
after the boundary (`SETTLE`) so the last events of the period are projected before they are
read. A missed run is caught up only within `CATCHUP_WINDOW` (a worker down for a day must not
mail 24 digests at once); runs never overlap.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from workflows.digest import DigestInput, DigestWorkflow
from workflows.side_effects import TASK_QUEUE

DIGEST_SCHEDULE_ID = "lim-digest"
DIGEST_WORKFLOW_ID = "lim-digest-run"  # Temporal appends each run's scheduled time
CATCHUP_WINDOW = timedelta(minutes=10)
SETTLE = timedelta(minutes=1)


def digest_schedule(interval: timedelta, task_queue: str = TASK_QUEUE) -> Schedule:
    """The schedule `ensure_digest_schedule` declares (no state: a pause survives updates)."""
    if interval <= timedelta(0):
        raise ValueError("digest interval must be positive")
    return Schedule(
        action=ScheduleActionStartWorkflow(DigestWorkflow.run, DigestInput(period=interval),
                                           id=DIGEST_WORKFLOW_ID, task_queue=task_queue),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=interval,
                                                          offset=min(SETTLE, interval / 10))]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=CATCHUP_WINDOW))


async def ensure_digest_schedule(client: Client, interval: timedelta,
                                 task_queue: str = TASK_QUEUE) -> None:
    """Create `lim-digest`, or bring an existing one to this definition (idempotent).

    An operator's pause (the schedule's state) is kept: only action, spec and policy change.
    """
    wanted = digest_schedule(interval, task_queue)
    try:
        await client.create_schedule(DIGEST_SCHEDULE_ID, wanted)
    except ScheduleAlreadyRunningError:
        def keep_state(current: ScheduleUpdateInput) -> ScheduleUpdate:
            wanted.state = current.description.schedule.state
            return ScheduleUpdate(schedule=wanted)

        await client.get_schedule_handle(DIGEST_SCHEDULE_ID).update(keep_state)
