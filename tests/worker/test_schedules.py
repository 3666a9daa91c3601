"""The digest Schedule the worker declares (the time-skipping server has no Schedules, so the
object is checked here; `ensure_digest_schedule` only hands it to the client)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import ScheduleOverlapPolicy

from worker.schedules import CATCHUP_WINDOW, DIGEST_WORKFLOW_ID, digest_schedule
from workflows.digest import DigestInput
from workflows.side_effects import TASK_QUEUE


def test_the_digest_runs_every_interval_just_after_the_period_boundary_on_the_incidents_queue():
    schedule = digest_schedule(timedelta(hours=1))
    [interval] = schedule.spec.intervals
    assert interval.every == timedelta(hours=1) and interval.offset == timedelta(minutes=1)
    assert schedule.action.workflow == "DigestWorkflow"
    assert schedule.action.task_queue == TASK_QUEUE and schedule.action.id == DIGEST_WORKFLOW_ID
    assert schedule.action.args == [DigestInput(period=timedelta(hours=1))]


def test_missed_runs_are_caught_up_only_briefly_and_never_overlap():
    policy = digest_schedule(timedelta(hours=1)).policy
    assert policy.overlap is ScheduleOverlapPolicy.SKIP
    assert policy.catchup_window == CATCHUP_WINDOW <= timedelta(minutes=10)


def test_a_short_interval_settles_for_a_tenth_of_it_and_a_zero_interval_is_refused():
    [interval] = digest_schedule(timedelta(minutes=5)).spec.intervals
    assert interval.offset == timedelta(seconds=30)
    with pytest.raises(ValueError):
        digest_schedule(timedelta(0))
