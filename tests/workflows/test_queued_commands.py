"""Commands that come as the `queued_command` signal (no worker answered the update in time)."""

from __future__ import annotations

import uuid

from infra.db.repositories import incidents as repo
from tests.workflows.helpers import change, eventually, signal_alerts
from workflows.domain.base import Actor, ActorKind
from workflows.domain.incidents import Acknowledge, AddNote, QueuedCommand, Resolve
from workflows.domain.lifecycle import IncidentStatus
from workflows.incident import IncidentWorkflow
from workflows.queued_commands import QUEUED_COMMAND_SIGNAL

ALICE = Actor(kind=ActorKind.USER, id="alice", name="Alice")


def queued(update: str, cmd) -> QueuedCommand:
    return QueuedCommand(update=update, command=cmd.model_dump(mode="json"))


async def test_a_queued_ack_applies_once_even_with_its_update_twin(registered_env, worker, engine):
    h = await signal_alerts(registered_env.client, worker, uuid.uuid4().hex[:10], change(1),
                            auto_resolve=False)
    ack = Acknowledge(actor=ALICE, request_id="ack-1", note="on it")
    await h.signal(QUEUED_COMMAND_SIGNAL, queued("acknowledge", ack))
    # The abandoned update, run by the server once a worker is back, is the same request.
    twin = await h.execute_update(IncidentWorkflow.acknowledge, ack)
    assert twin.status is IncidentStatus.ACKNOWLEDGED
    barrier = await h.execute_update(IncidentWorkflow.add_note, AddNote(text="b", actor=ALICE))
    kinds = [e["kind"] for e in repo.timeline(engine, barrier.incident_id)]
    assert kinds.count("acknowledged") == 1
    assert repo.find(engine, barrier.incident_id)["acknowledged_by"] == "user:Alice"


async def test_a_queued_command_that_is_illegal_by_then_is_refused_on_the_timeline(
        registered_env, worker, engine):
    h = await signal_alerts(registered_env.client, worker, uuid.uuid4().hex[:10], change(1),
                            auto_resolve=False)
    done = await h.execute_update(IncidentWorkflow.resolve, Resolve(actor=ALICE))
    await h.signal(QUEUED_COMMAND_SIGNAL, queued("acknowledge", Acknowledge(actor=ALICE)))
    await h.signal(QUEUED_COMMAND_SIGNAL, QueuedCommand(update="self_destruct", command={}))

    def notes():
        found = [e["summary"] for e in repo.timeline(engine, done.incident_id)
                 if e["kind"] == "note"]
        return found if len(found) == 2 else None

    refused, unknown = await eventually(notes)
    assert refused.startswith("acknowledge by user:Alice, sent while no worker was running, was "
                              "not applied: cannot acknowledge an incident that is resolved")
    assert unknown == "queued command 'self_destruct' is unknown; ignored"
    assert (await h.query(IncidentWorkflow.state)).status is IncidentStatus.RESOLVED


def test_every_queueable_command_names_an_update_and_its_validator_on_the_workflow():
    from workflows.queued_commands import QUEUEABLE

    for name in QUEUEABLE:
        assert callable(getattr(IncidentWorkflow, name)), name
        assert callable(getattr(IncidentWorkflow, f"_check_{name}")), name
