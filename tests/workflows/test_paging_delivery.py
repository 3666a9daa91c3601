"""Delivery from the workflow: fallback chains, page-not-delivered incidents, no page twice,
follow-ups in the incident's Slack thread."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from api.dispatcher import OutboxDispatcher
from infra.db.repositories import alerts as alerts_repo
from infra.settings.ingest import IngestSettings
from tests.workflows.conftest import ladder_config, person
from workflows.domain.base import Actor, ActorKind, Severity
from workflows.domain.config import NotificationRule
from workflows.domain.grouping import workflow_id_for
from workflows.domain.incidents import Acknowledge
from workflows.incident import IncidentWorkflow

ALICE = Actor(kind=ActorKind.USER, id="alice", name="Alice")


async def test_a_rejected_slack_page_falls_back_to_email_at_once(paging, slack_server):
    # Slack answers user_not_found for ids not starting with U: permanent, so no retry budget.
    rules = [NotificationRule(method="alice-slack")]
    paging.apply(ladder_config(person("alice", "slack", "email", rules=rules, slack="Xgone")))
    inc = await paging.open(Severity.HIGH)
    await paging.sleep(1)
    assert paging.pages(inc) == [(0, "alice", "email")]
    paged = [e for e in paging.timeline(inc) if e["kind"] == "paged"]
    assert paged[0]["details"]["channel"] == "email"


async def test_a_page_no_channel_delivers_becomes_its_own_incident_and_escalation_goes_on(
        paging, registered_env, worker, engine):
    rules = [NotificationRule(method="alice-slack")]  # then the fallback: webhook
    paging.apply(ladder_config(person("alice", "slack", "webhook", rules=rules, slack="Xgone",
                                      webhook="nope")))
    inc = await paging.open(Severity.HIGH)
    await paging.sleep(6)
    failed = [e for e in paging.timeline(inc) if e["kind"] == "page_failed"]
    assert len(failed) == 1 and "alice" in failed[0]["summary"], [e["summary"] for e in failed]
    assert [u for m, u in paging.who(inc)] == ["carol", "lead"]  # the ladder went on at T+5
    # The failure went through the normal outbox; the dispatcher opens its incident.
    key = f"page-undelivered:{inc.incident_id}:alice"
    dispatcher = OutboxDispatcher(engine, registered_env.client, worker, IngestSettings(),
                                  asyncio.Event())
    assert await dispatcher.drain() == 0
    handle = registered_env.client.get_workflow_handle(workflow_id_for(key))
    state = await handle.query(IncidentWorkflow.state)
    assert state.title.startswith("Page for #") and "alice" in state.title
    assert state.route.route_id == "page-not-delivered" and state.severity is Severity.HIGH
    assert alerts_repo.counters(engine)["alerts_received"] >= 1
    await handle.execute_update(IncidentWorkflow.acknowledge, Acknowledge(actor=ALICE))


async def test_no_page_is_ever_sent_twice(paging, recording, webhook_receiver):
    # Slack fails over to email at T+0; the email rule at +5 finds that key already delivered.
    rules = [NotificationRule(method="alice-slack"),
             NotificationRule(method="alice-email", after=timedelta(minutes=5))]
    paging.apply(ladder_config(person("alice", "slack", "email", rules=rules, slack="Xgone")))
    inc = await paging.open(Severity.HIGH)
    await paging.sleep(30)
    alice = [(m, k) for m, u, k in paging.pages(inc) if u == "alice"]
    assert alice == [(0, "email"), (25, "email")]  # once per cycle, never the duplicate at +5
    keys = Counter(n.idempotency_key for _, n in recording.at)
    assert [k for k, count in keys.items() if count > 1] == []
    assert webhook_receiver.duplicates == 0


async def test_acknowledge_posts_into_the_incident_slack_thread(paging, slack_server):
    paging.apply(ladder_config(person("alice", "slack", slack="UALICE")))
    inc = await paging.open(Severity.HIGH)
    await paging.sleep(1)
    first = [p for p in slack_server.posts if inc.incident_id in str(p.get("metadata", ""))]
    assert len(first) == 1 and first[0]["channel"] == "DALICE"
    await inc.handle.execute_update(IncidentWorkflow.acknowledge, Acknowledge(actor=ALICE))
    await paging.sleep(1)
    replies = slack_server.thread_replies("DALICE", first[0]["ts"])
    assert any("acknowledged by user:Alice" in str(r.get("blocks", "")) + str(r.get("text", ""))
               for r in replies)
