"""A page waiting on a personal-rule delay survives the incident's continue-as-new."""

from __future__ import annotations

from datetime import timedelta

from tests.workflows.conftest import ladder_config, person
from workflows.domain.base import Actor, ActorKind, Severity
from workflows.domain.config import NotificationRule
from workflows.domain.incidents import AddNote
from workflows.incident import MAX_HISTORY_EVENTS, IncidentWorkflow

BOB = Actor(kind=ActorKind.USER, id="bob", name="Bob")


async def test_a_voice_call_due_at_minute_three_still_goes_out_after_continue_as_new(paging):
    rules = [NotificationRule(method="alice-sms"),
             NotificationRule(method="alice-voice", after=timedelta(minutes=3))]
    paging.apply(ladder_config(person("alice", "sms", "voice", rules=rules)))
    inc = await paging.open(Severity.HIGH)
    await paging.sleep(1)
    first_run = (await inc.handle.describe()).run_id
    for i in range(MAX_HISTORY_EVENTS // 8 + 20):  # each note costs ~8-10 events
        await inc.handle.execute_update(IncidentWorkflow.add_note,
                                        AddNote(text=f"n{i}", actor=BOB, request_id=f"n{i}"))
    latest = paging.env.client.get_workflow_handle(inc.handle.id)
    assert (await latest.describe()).run_id != first_run  # it did continue as new
    await paging.sleep(3)
    alice = [(m, kind) for m, user, kind in paging.pages(inc) if user == "alice"]
    assert alice == [(0, "sms"), (3, "voice")]  # the voice call, once, on time
