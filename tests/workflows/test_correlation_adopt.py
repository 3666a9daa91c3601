"""ADOPT on the time-skipping server: a root incident that opens after its symptom incidents
links them (`link_to_root`), and they stop paging on their own, with the reason in the timeline."""

from __future__ import annotations

import uuid
from datetime import timedelta

from tests.workflows.conftest import Opened, ladder_config, person
from workflows.cascade_links import LINK_SIGNAL
from workflows.domain.alerts import AlertStatus
from workflows.domain.base import Severity
from workflows.domain.config import NotificationRule
from workflows.domain.incidents import (
    AlertChange,
    LinkToRoot,
    RouteDecision,
)
from workflows.incident import IncidentWorkflow

WHY = ("correlation adopt (rule cascade, score 0.50): orders-db is upstream of open incidents "
       "inc_web (web, 2 hop(s)): alert al_root 'PostgresqlDown' is their likely root")


async def open_root(paging, *symptoms: str) -> Opened:
    """A root incident whose dispatcher decision was ADOPT of `symptoms` (workflow ids)."""
    key = f"root-{uuid.uuid4().hex[:10]}"
    route = RouteDecision(escalation_policy_id="ladder", team="ml", auto_resolve=False,
                          adopted_symptoms=list(symptoms), correlation_reason=WHY)
    first = AlertChange(alert_id="al_root", fingerprint=f"{key}-fp", title="PostgresqlDown",
                        status=AlertStatus.FIRING, severity=Severity.HIGH, service="orders-db",
                        env="prod", at=await paging.now(), reason=WHY)
    return await paging.open_with(key, route, first)


async def test_a_root_opening_after_its_symptom_stops_the_symptoms_escalation(paging):
    paging.apply(ladder_config())
    symptom = await paging.open(Severity.HIGH)
    await paging.sleep(2)
    root = await open_root(paging, symptom.handle.id, "incident-long-closed-symptom")
    await paging.sleep(40)

    assert paging.who(symptom) == [(0, "alice")]  # no T+5 secondary, no T+15 manager, no cycle 2
    assert (0, "alice") in paging.who(root) and (5, "lead") in paging.who(root)
    state = await symptom.handle.query(IncidentWorkflow.state)
    assert state.route.root_incident_id == root.incident_id and state.route.suppress_paging
    linked = [e for e in paging.timeline(symptom) if e["kind"] == "linked"]
    assert len(linked) == 1
    assert linked[0]["details"]["root_incident_id"] == root.incident_id
    assert linked[0]["details"]["root_workflow_id"] == root.handle.id
    assert "rule cascade" in linked[0]["details"]["reason"]
    assert "2 hop(s)" in linked[0]["details"]["reason"] and "al_root" in linked[0]["details"]["reason"]
    told = [e for e in paging.timeline(root) if e["kind"] == "linked"]
    assert told[0]["details"]["symptoms"] == symptom.handle.id
    assert told[0]["details"]["closed"] == "incident-long-closed-symptom"


async def test_adoption_cancels_a_symptom_page_still_waiting_in_a_personal_rule(paging):
    rules = [NotificationRule(method="alice-sms"),
             NotificationRule(method="alice-voice", after=timedelta(minutes=3))]
    paging.apply(ladder_config(person("alice", "sms", "voice", rules=rules)))
    symptom = await paging.open(Severity.HIGH)
    await paging.sleep(1)
    await open_root(paging, symptom.handle.id)
    await paging.sleep(30)
    assert paging.pages(symptom) == [(0, "alice", "sms")]  # the T+3 voice call never went out


async def test_a_repeated_link_signal_records_once(paging):
    paging.apply(ladder_config())
    symptom = await paging.open(Severity.HIGH)
    root = await open_root(paging, symptom.handle.id)
    await paging.sleep(1)
    state = await symptom.handle.query(IncidentWorkflow.state)
    await symptom.handle.signal(LINK_SIGNAL, LinkToRoot(root_incident_id=root.incident_id,
                                                       root_workflow_id=root.handle.id, reason=WHY))
    await paging.sleep(1)
    again = await symptom.handle.query(IncidentWorkflow.state)
    assert again.version == state.version
    assert [e["kind"] for e in paging.timeline(symptom)].count("linked") == 1
