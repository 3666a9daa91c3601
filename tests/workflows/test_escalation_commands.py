"""Escalate, snooze and reassign: updates with validators that move the ladder."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowUpdateFailedError

from tests.workflows.conftest import ladder_config, person
from workflows.domain.base import Actor, ActorKind, Severity
from workflows.domain.incidents import Acknowledge, Escalate, Reassign, Snooze
from workflows.incident import IncidentWorkflow

ALICE = Actor(kind=ActorKind.USER, id="alice", name="Alice")


async def test_snooze_pauses_escalation_and_resumes_after(paging):
    paging.apply(ladder_config())
    inc = await paging.open(Severity.HIGH)
    await paging.sleep(2)
    await inc.handle.execute_update(IncidentWorkflow.snooze, Snooze(minutes=30, actor=ALICE))
    await paging.sleep(41)
    assert paging.who(inc) == [(0, "alice"), (32, "carol"), (32, "lead"), (42, "manager")]
    assert "snoozed" in paging.kinds(inc)


async def test_manual_escalate_pages_the_next_step_now(paging):
    paging.apply(ladder_config())
    inc = await paging.open(Severity.HIGH)
    await paging.sleep(1)
    await inc.handle.execute_update(IncidentWorkflow.escalate, Escalate(reason="need help"))
    await paging.sleep(11)
    assert paging.who(inc) == [(0, "alice"), (1, "carol"), (1, "lead"), (11, "manager")]


async def test_reassign_pages_the_assignee_now_and_on_every_later_step(paging):
    paging.apply(ladder_config(person("dave")))
    inc = await paging.open(Severity.HIGH)
    await paging.sleep(2)
    await inc.handle.execute_update(IncidentWorkflow.reassign, Reassign(user_id="dave", actor=ALICE))
    await paging.sleep(4)
    dave = [m for m, u in paging.who(inc) if u == "dave"]
    assert dave == [2, 5]
    assert "reassigned" in paging.kinds(inc)


async def test_reassign_to_an_unknown_user_fails_the_update(paging):
    paging.apply(ladder_config())
    inc = await paging.open(Severity.HIGH)
    with pytest.raises(WorkflowUpdateFailedError):
        await inc.handle.execute_update(IncidentWorkflow.reassign, Reassign(user_id="nobody"))


async def test_illegal_ladder_commands_are_refused_and_never_reach_history(paging):
    paging.apply(ladder_config())
    inc = await paging.open(Severity.HIGH)
    with pytest.raises(WorkflowUpdateFailedError):
        await inc.handle.execute_update(IncidentWorkflow.snooze, Snooze(minutes=0))
    with pytest.raises(WorkflowUpdateFailedError):
        await inc.handle.execute_update(IncidentWorkflow.reassign, Reassign(user_id=" "))
    await inc.handle.execute_update(IncidentWorkflow.acknowledge, Acknowledge(actor=ALICE))
    before = await accepted_updates(inc.handle)
    for command in (IncidentWorkflow.escalate, IncidentWorkflow.snooze):
        arg = Escalate() if command is IncidentWorkflow.escalate else Snooze(minutes=5)
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await inc.handle.execute_update(command, arg)
        assert "acknowledged" in str(refused.value.cause)
    assert await accepted_updates(inc.handle) == before


async def accepted_updates(handle) -> int:
    events = (await handle.fetch_history()).events
    return sum(1 for e in events if e.HasField("workflow_execution_update_accepted_event_attributes"))


async def test_an_incident_without_a_policy_refuses_escalate(paging):
    paging.apply(ladder_config())
    inc = await paging.open(Severity.HIGH, policy="")
    with pytest.raises(WorkflowUpdateFailedError):
        await inc.handle.execute_update(IncidentWorkflow.escalate, Escalate())
    await paging.sleep(20)
    assert paging.pages(inc) == []
