"""IncidentWorkflow lifecycle on the real time-skipping test server with real projections."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from infra.db.repositories import incidents as repo
from tests.workflows.helpers import change, eventually, signal_alerts
from workflows.domain.alerts import AlertStatus
from workflows.domain.base import Actor, ActorKind, Severity
from workflows.domain.incidents import Acknowledge, AddNote, ChangeSeverity, Reopen, Resolve
from workflows.domain.lifecycle import IncidentStatus
from workflows.incident import IncidentWorkflow


def key() -> str:
    return uuid.uuid4().hex[:10]


ALICE = Actor(kind=ActorKind.USER, id="alice", name="Alice")


async def test_first_alert_opens_an_incident_and_projects_it(registered_env, worker, engine):
    h = await signal_alerts(registered_env.client, worker, key(), change(1))
    state = await h.query(IncidentWorkflow.state)
    row = await eventually(lambda: repo.find(engine, state.incident_id))
    assert row["status"] == "triggered" and row["title"] == "HighLatency" and row["number"] >= 1
    kinds = [e["kind"] for e in repo.timeline(engine, state.incident_id)]
    assert kinds[:2] == ["opened", "alert_attached"]


async def test_repeats_are_counted_without_new_members(registered_env, worker, engine):
    k = key()
    h = await signal_alerts(registered_env.client, worker, k, change(1))
    await signal_alerts(registered_env.client, worker, k, repeats=9999)
    result = await h.execute_update(IncidentWorkflow.add_note, AddNote(text="barrier", actor=ALICE))
    row = repo.find(engine, result.incident_id)
    assert row["repeat_count"] == 9999 and row["alert_count"] == 1


async def test_ack_then_resolve_records_who_did_it(registered_env, worker, engine):
    h = await signal_alerts(registered_env.client, worker, key(), change(1), auto_resolve=False)
    acked = await h.execute_update(IncidentWorkflow.acknowledge, Acknowledge(actor=ALICE, request_id="r1"))
    assert acked.status is IncidentStatus.ACKNOWLEDGED
    row = repo.find(engine, acked.incident_id)
    assert row["status"] == "acknowledged" and row["acknowledged_by"] == "user:Alice"
    resolved = await h.execute_update(IncidentWorkflow.resolve, Resolve(actor=ALICE, note="rolled back"))
    assert resolved.status is IncidentStatus.RESOLVED
    summaries = [e["summary"] for e in repo.timeline(engine, acked.incident_id)]
    assert "resolved: rolled back" in summaries


async def test_illegal_transition_is_refused_and_never_reaches_history(registered_env, worker):
    h = await signal_alerts(registered_env.client, worker, key(), change(1))
    await h.execute_update(IncidentWorkflow.acknowledge, Acknowledge(actor=ALICE))
    before = len((await h.fetch_history()).events)
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await h.execute_update(IncidentWorkflow.acknowledge, Acknowledge(actor=ALICE))
    assert "cannot acknowledge an incident that is acknowledged" in str(err.value.cause)
    after = (await h.fetch_history()).events
    assert not any(e.HasField("workflow_execution_update_accepted_event_attributes")
                   for e in after[before:])


async def test_a_retried_request_acts_once(registered_env, worker, engine):
    h = await signal_alerts(registered_env.client, worker, key(), change(1))
    first = await h.execute_update(IncidentWorkflow.acknowledge, Acknowledge(actor=ALICE, request_id="slack-1"))
    again = await h.execute_update(IncidentWorkflow.acknowledge, Acknowledge(actor=ALICE, request_id="slack-1"))
    assert first.changed and not again.changed
    acks = [e for e in repo.timeline(engine, first.incident_id) if e["kind"] == "acknowledged"]
    assert len(acks) == 1


async def test_every_alert_resolved_at_source_resolves_the_incident(registered_env, worker, engine):
    k = key()
    h = await signal_alerts(registered_env.client, worker, k, change(1), change(2))
    await signal_alerts(registered_env.client, worker, k, change(1, AlertStatus.RESOLVED))
    assert (await h.query(IncidentWorkflow.state)).status is IncidentStatus.TRIGGERED
    await signal_alerts(registered_env.client, worker, k, change(2, AlertStatus.RESOLVED))
    state = await h.query(IncidentWorkflow.state)
    assert state.status is IncidentStatus.RESOLVED and state.resolved_by.kind is ActorKind.SYSTEM
    await eventually(lambda: repo.find(engine, state.incident_id)["status"] == "resolved")


async def test_a_refire_within_the_flap_window_reopens_the_same_incident(registered_env, worker):
    k = key()
    h = await signal_alerts(registered_env.client, worker, k, change(1))
    first = await h.query(IncidentWorkflow.state)
    await signal_alerts(registered_env.client, worker, k, change(1, AlertStatus.RESOLVED))
    await registered_env.sleep(timedelta(minutes=5))
    refire = change(1).model_copy(update={"alert_id": "a1-again"})
    await signal_alerts(registered_env.client, worker, k, refire)
    state = await h.query(IncidentWorkflow.state)
    assert state.incident_id == first.incident_id and state.status is IncidentStatus.TRIGGERED


async def test_after_the_flap_window_the_incident_closes_and_the_key_opens_a_new_one(
        registered_env, worker, engine):
    k = key()
    h = await signal_alerts(registered_env.client, worker, k, change(1), flap=timedelta(minutes=15))
    await signal_alerts(registered_env.client, worker, k, change(1, AlertStatus.RESOLVED))
    closed = await h.result()  # time skips over the flap window
    assert closed.status is IncidentStatus.RESOLVED
    again = await signal_alerts(registered_env.client, worker, k,
                                change(1).model_copy(update={"alert_id": "a1-later"}))
    new_state = await again.query(IncidentWorkflow.state)
    assert new_state.incident_id != closed.incident_id
    assert repo.timeline(engine, closed.incident_id)[-1]["kind"] == "closed"


async def test_reopen_requires_a_resolved_incident(registered_env, worker):
    h = await signal_alerts(registered_env.client, worker, key(), change(1))
    with pytest.raises(WorkflowUpdateFailedError):
        await h.execute_update(IncidentWorkflow.reopen, Reopen(actor=ALICE))
    await h.execute_update(IncidentWorkflow.resolve, Resolve(actor=ALICE))
    reopened = await h.execute_update(IncidentWorkflow.reopen, Reopen(actor=ALICE, reason="still broken"))
    assert reopened.status is IncidentStatus.TRIGGERED


async def test_a_human_severity_sticks_when_alerts_change(registered_env, worker):
    k = key()
    h = await signal_alerts(registered_env.client, worker, k, change(1, severity=Severity.MEDIUM))
    await h.execute_update(IncidentWorkflow.change_severity, ChangeSeverity(actor=ALICE, severity=Severity.LOW))
    await signal_alerts(registered_env.client, worker, k, change(2, severity=Severity.CRITICAL))
    assert (await h.query(IncidentWorkflow.state)).severity is Severity.LOW


async def test_a_new_more_severe_alert_raises_the_severity(registered_env, worker):
    k = key()
    h = await signal_alerts(registered_env.client, worker, k, change(1, severity=Severity.MEDIUM))
    await signal_alerts(registered_env.client, worker, k, change(2, severity=Severity.CRITICAL))
    assert (await h.query(IncidentWorkflow.state)).severity is Severity.CRITICAL


async def test_search_attributes_follow_the_state(registered_env, worker):
    h = await signal_alerts(registered_env.client, worker, key(), change(1))
    await h.execute_update(IncidentWorkflow.acknowledge, Acknowledge(actor=ALICE))
    desc = await h.describe()
    from workflows.search import SA_SERVICE, SA_STATUS
    assert desc.typed_search_attributes.get(SA_STATUS) == "acknowledged"
    assert desc.typed_search_attributes.get(SA_SERVICE) == "inference-api"
