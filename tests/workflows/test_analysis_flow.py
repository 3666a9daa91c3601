"""AnalysisFlow on the time-skipping server: the real activities, a real DB, the local analyzer."""

from __future__ import annotations

import uuid

from infra.db.repositories import analysis as analysis_repo
from infra.db.repositories import incidents as incident_repo
from tests.workflows.analysis_harness import (
    FAIL_MARK,
    HARNESS_QUEUE,
    TOKENS_PER_ANSWER,
    AnalysisHarnessWorkflow,
    HarnessInput,
    probe,
)
from tests.workflows.helpers import T0
from workflows.domain.alerts import AlertStatus
from workflows.domain.base import Severity
from workflows.domain.incidents import AnalysisProgress, IncidentState, Member, RouteDecision
from workflows.domain.timeline import EventKind


def incident(severity: Severity = Severity.HIGH, title: str = "Postgres connection pool exhausted",
             route: RouteDecision | None = None, **extra) -> IncidentState:
    fp = f"fp-{uuid.uuid4().hex[:8]}"
    return IncidentState(
        incident_id=f"inc-{uuid.uuid4().hex[:10]}", dedup_key=uuid.uuid4().hex, title=title,
        service="orders-db", env="prod", severity=severity, opened_at=T0, route=route or RouteDecision(),
        members={fp: Member(fingerprint=fp, status=AlertStatus.FIRING, title=title,
                            severity=severity)}, alert_count=1, **extra)


async def run(env, _worker: str, state: IncidentState, *steps: str):
    return await env.client.execute_workflow(
        AnalysisHarnessWorkflow.run, HarnessInput(state=state, steps=list(steps)),
        id=f"analysis-{state.incident_id}", task_queue=HARNESS_QUEUE)


def kinds(result) -> list[EventKind]:
    return [e.kind for e in result.events]


async def test_a_new_incident_is_classified_and_says_which_classifier_answered(
        registered_env, worker, engine):
    state = incident()
    result = await run(registered_env, worker, state)
    classified = next(e for e in result.events if e.kind is EventKind.CLASSIFIED)
    assert classified.details["classifier"] == "local"
    assert classified.details["fallback_reason"] == "no Anthropic API key configured"
    assert classified.details["category"] and classified.details["severity"]
    assert EventKind.DIAGNOSED not in kinds(result) and not result.posts
    stored = analysis_repo.latest(engine, state.incident_id, "classification")
    assert stored["analyzer"] == "local" and stored["tokens"] == TOKENS_PER_ANSWER
    assert result.progress.classified and result.progress.category == stored["content"]["category"]


async def test_a_critical_incident_is_diagnosed_at_once_and_posted(registered_env, worker, engine):
    state = incident(Severity.CRITICAL)
    result = await run(registered_env, worker, state)
    assert kinds(result)[1:] == [EventKind.CLASSIFIED, EventKind.DIAGNOSED]
    diagnosed = result.events[-1]
    assert diagnosed.details["hypothesis_1"] and "analyzer" in diagnosed.details
    assert len(result.posts) == 1 and "AI diagnosis" in result.posts[0]
    assert analysis_repo.latest(engine, state.incident_id, "diagnosis") is not None


async def test_others_are_diagnosed_once_when_acknowledged(registered_env, worker):
    result = await run(registered_env, worker, incident(Severity.MEDIUM), "ack", "ack")
    assert kinds(result).count(EventKind.DIAGNOSED) == 1 and len(result.posts) == 1


async def test_resolve_drafts_a_postmortem_from_the_audit_log(registered_env, worker, engine):
    state = incident(Severity.CRITICAL)
    result = await run(registered_env, worker, state, "ack", "resolve")
    assert kinds(result)[-1] is EventKind.POSTMORTEM
    draft = analysis_repo.latest(engine, state.incident_id, "postmortem")
    assert draft["markdown"].startswith(f"# Post-mortem: {state.title}")
    assert "classified" in draft["markdown"] and "resolved" in draft["markdown"]
    assert "## Root cause" in draft["markdown"] and "Unknown: no diagnosis" not in draft["markdown"]
    timeline = incident_repo.timeline(engine, state.incident_id)
    assert timeline[-1]["kind"] == "postmortem"


async def test_tokens_spent_carry_across_calls_and_continue_as_new(registered_env, worker, engine):
    carried = AnalysisProgress(tokens_spent=5_000, cost_usd=0.5, classified=True,
                               category="database")
    state = incident(Severity.CRITICAL, analysis=carried)
    result = await run(registered_env, worker, state, "resolve")
    assert probe().tokens_seen[state.incident_id] == [5_000, 5_000 + TOKENS_PER_ANSWER]
    assert result.progress.tokens_spent == 5_000 + 2 * TOKENS_PER_ANSWER
    assert result.progress.cost_usd == 0.502
    assert EventKind.CLASSIFIED not in kinds(result)  # done before continue-as-new
    totals = analysis_repo.token_totals(engine, state.incident_id)
    assert totals["tokens"] == 2 * TOKENS_PER_ANSWER and totals["calls"] == 2


async def test_an_analysis_failure_is_recorded_and_never_fails_the_incident(
        registered_env, worker, engine):
    state = incident(Severity.CRITICAL, title=f"disk full {FAIL_MARK}")
    result = await run(registered_env, worker, state, "resolve")
    notes = [e for e in result.events if e.kind is EventKind.NOTE]
    assert [n.details["step"] for n in notes] == ["classify", "diagnose", "post-mortem"]
    assert "analyzer exploded" in notes[0].details["error"]
    assert len(result.progress.failures) == 3 and not result.progress.classified
    assert analysis_repo.all_for(engine, state.incident_id) == []


async def test_a_symptom_incident_records_its_root_in_the_timeline(registered_env, worker):
    route = RouteDecision(root_incident_id="inc-root", suppress_paging=True,
                          correlation_reason="cascade, score 1.0: checkout depends on orders-db")
    result = await run(registered_env, worker, incident(route=route))
    linked = result.events[1]
    assert linked.kind is EventKind.LINKED and linked.details["root_incident_id"] == "inc-root"
    assert linked.details["suppress_paging"] == "true" and "cascade" in linked.details["reason"]
