"""The Temporal-backed IncidentActions against the real time-skipping server and worker."""

from __future__ import annotations

import uuid

import pytest

from api.actions import ActionRefused
from api.temporal_actions import TemporalIncidentActions
from infra.db.repositories import incidents as repo
from workflows.domain.base import Actor, ActorKind, Severity
from workflows.domain.lifecycle import IncidentStatus

ALICE = Actor(kind=ActorKind.USER, id="alice", name="Alice")


def title() -> str:
    return f"Checkout 5xx {uuid.uuid4().hex[:8]}"


@pytest.fixture
async def http(temporal_api_factory):
    async with temporal_api_factory() as http:
        yield http


@pytest.fixture
def actions(http) -> TemporalIncidentActions:
    return TemporalIncidentActions(lambda: http.app.state.lim)


async def test_acknowledge_by_number_reaches_the_workflow(http, actions, open_incident,
                                                           shared_engine):
    row = await open_incident(http, title())
    result = await actions.acknowledge(str(row["number"]), ALICE, "chat-1")
    assert result.status is IncidentStatus.ACKNOWLEDGED and result.changed
    assert repo.find(shared_engine, row["id"])["acknowledged_by"] == "user:Alice"


async def test_a_repeated_request_id_acts_once(http, actions, open_incident, shared_engine):
    row = await open_incident(http, title())
    first = await actions.acknowledge(row["id"], ALICE, "chat-2")
    again = await actions.acknowledge(row["id"], ALICE, "chat-2")  # e.g. Slack redelivering
    # Temporal replays the first answer for a known update id, or the workflow's own dedup
    # answers "unchanged" (e.g. after continue-as-new): either way it acted once.
    assert again.status == first.status and (again.version == first.version or not again.changed)
    acks = [e for e in repo.timeline(shared_engine, row["id"]) if e["kind"] == "acknowledged"]
    assert len(acks) == 1


async def test_an_illegal_command_is_refused_with_the_reason(http, actions, open_incident):
    row = await open_incident(http, title())
    await actions.resolve(f"#{row['number']}", ALICE, "chat-3")
    with pytest.raises(ActionRefused, match="cannot acknowledge an incident that is resolved"):
        await actions.acknowledge(row["id"], ALICE, "chat-4")


async def test_an_unknown_incident_is_refused(actions):
    with pytest.raises(ActionRefused, match="no incident 999999"):
        await actions.acknowledge("999999", ALICE, "chat-5")


async def test_declare_opens_an_incident_through_the_intake(actions, shared_engine):
    made = await actions.declare("Payments down (declared)", Severity.CRITICAL, ALICE)
    assert made.number >= 1 and made.severity is Severity.CRITICAL
    assert made.status is IncidentStatus.TRIGGERED
    row = repo.find(shared_engine, made.id)
    assert row["title"] == "Payments down (declared)"
    assert any(e["kind"] == "opened" for e in repo.timeline(shared_engine, made.id))


async def test_list_open_shows_open_incidents_only(http, actions, open_incident):
    still_open = await open_incident(http, title())
    closed = await open_incident(http, title())
    await actions.resolve(closed["id"], ALICE, "chat-6")
    listed = {s.id for s in await actions.list_open(limit=500)}
    assert still_open["id"] in listed and closed["id"] not in listed


async def test_escalate_and_snooze_reach_the_workflow_or_are_refused_until_it_has_them(
        http, actions, open_incident):
    # Tolerates a worker without the escalation updates only until they land in the workflow.
    from workflows.incident import IncidentWorkflow

    row = await open_incident(http, title())
    has_updates = hasattr(IncidentWorkflow, "escalate") and hasattr(IncidentWorkflow, "snooze")
    if has_updates:
        for act in (lambda: actions.snooze(row["id"], ALICE, "chat-7", 30),
                    lambda: actions.escalate(row["id"], ALICE, "chat-8")):
            try:
                assert (await act()).incident_id == row["id"]
            except ActionRefused as refused:  # the workflow's own validator answered
                assert "yet" not in str(refused)
        return
    with pytest.raises(ActionRefused, match="cannot snooze incidents yet"):
        await actions.snooze(row["id"], ALICE, "chat-7", 30)
    with pytest.raises(ActionRefused, match="cannot escalate incidents yet"):
        await actions.escalate(row["id"], ALICE, "chat-8")
