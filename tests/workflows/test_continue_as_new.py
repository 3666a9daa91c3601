"""A chatty incident continues-as-new and carries its whole state, timeline numbering included."""

from __future__ import annotations

import uuid

from infra.db.repositories import incidents as repo
from tests.workflows.helpers import change, signal_alerts
from workflows.domain.base import Actor, ActorKind
from workflows.domain.incidents import AddNote
from workflows.incident import MAX_HISTORY_EVENTS, IncidentWorkflow

BOB = Actor(kind=ActorKind.USER, id="bob", name="Bob")


async def test_a_chatty_incident_continues_as_new_without_losing_anything(registered_env, worker, engine):
    h = await signal_alerts(registered_env.client, worker, uuid.uuid4().hex[:10], change(1))
    first_run = (await h.describe()).run_id
    notes = MAX_HISTORY_EVENTS // 8 + 20  # each note costs ~8-10 events
    for i in range(notes):
        await h.execute_update(IncidentWorkflow.add_note, AddNote(text=f"note {i}", actor=BOB,
                                                                  request_id=f"n{i}"))
    latest = registered_env.client.get_workflow_handle(h.id)
    assert (await latest.describe()).run_id != first_run
    state = await latest.query(IncidentWorkflow.state)
    timeline = repo.timeline(engine, state.incident_id)
    assert [e["seq"] for e in timeline] == list(range(1, len(timeline) + 1))
    assert sum(e["kind"] == "note" for e in timeline) == notes
    # A retried request from before the continue-as-new still acts only once.
    again = await latest.execute_update(IncidentWorkflow.add_note,
                                        AddNote(text="note 0", actor=BOB, request_id=f"n{notes - 1}"))
    assert not again.changed
