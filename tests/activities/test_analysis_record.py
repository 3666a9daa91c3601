"""Analysis activities read their own evidence from a real, migrated SQLite database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from temporalio.testing import ActivityEnvironment

from activities.analysis_record import AnalysisRecordActivities
from activities.llm.fallback import LocalEngine
from infra.db.repositories import analysis as analysis_repo
from infra.db.repositories import changes as change_repo
from infra.db.repositories import incidents as incident_repo
from infra.db.tables.core import AlertCounterRow, AlertRow
from workflows.analysis_flow import AnalysisRecord, AnalysisTask
from workflows.domain.analysis import ChangeEvent, Classification, IncidentFacts
from workflows.domain.base import Severity
from workflows.domain.incidents import IncidentState
from workflows.domain.lifecycle import IncidentStatus
from workflows.domain.timeline import EventKind, RecordIncident, TimelineEvent

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


class UnusedAnalyzer(LocalEngine):
    """These tests only build requests; nothing may ask the analyzer."""

    def __init__(self) -> None:  # no classifier to fit
        pass


def add_alert(engine, alert_id: str, fp: str, service: str = "orders-api") -> None:
    with engine.begin() as conn:
        conn.execute(AlertRow.__table__.insert().values(
            id=alert_id, fingerprint=fp, dedup_key="k", source="alertmanager", status="firing",
            title="HTTP 5xx ratio above 5%", description="checkout errors", service=service,
            labels={"alertname": "High5xx", "severity": "critical"}, annotations={}, env="prod",
            severity="critical", team="", model_id="", metric_type="", starts_at=T0,
            generator_url="", received_at=T0, key_id=""))
        conn.execute(AlertCounterRow.__table__.insert().values(
            alert_id=alert_id, occurrences=1, last_received_at=T0))


def task(**extra) -> AnalysisTask:
    return AnalysisTask(incident_id="inc-1", title="HTTP 5xx ratio above 5%",
                        service="orders-api", fingerprints=["fp1"], opened_at=T0,
                        at=T0 + timedelta(minutes=5), **extra)


def activities(engine) -> AnalysisRecordActivities:
    return AnalysisRecordActivities(engine, UnusedAnalyzer(),
                                    graph=lambda: {"orders-api": ["orders-db"]})


def test_classification_reads_the_first_alerts_labels(engine):
    add_alert(engine, "a1", "fp1")
    req = activities(engine)._classify_request(task(tokens_spent=1234))
    assert req.labels["alertname"] == "High5xx" and req.description == "checkout errors"
    assert req.tokens_spent == 1234


def test_diagnosis_gathers_alerts_upstream_changes_and_past_incidents(engine):
    add_alert(engine, "a1", "fp1")
    change_repo.add_changes(engine, [
        ChangeEvent(time=T0 - timedelta(minutes=3), service="orders-db", description="migrate"),
        ChangeEvent(time=T0 - timedelta(minutes=3), service="unrelated", description="x"),
        ChangeEvent(time=T0 - timedelta(days=2), service="orders-db", description="old")], "", T0)
    past = IncidentState(incident_id="inc-0", dedup_key="k0", title="HTTP 5xx ratio above 5%",
                         service="orders-api", opened_at=T0 - timedelta(days=3),
                         status=IncidentStatus.RESOLVED, resolved_at=T0 - timedelta(days=3))
    incident_repo.project(engine, RecordIncident(workflow_id="w0", state=past), T0)
    req = activities(engine)._diagnose_request(task())
    bundle = req.bundle
    assert [a.ref for a in bundle.alerts] == ["alert:a1"]
    assert [c.description for c in bundle.changes] == ["migrate"]
    assert [p.incident_id for p in bundle.past_incidents] == ["inc-0"]
    assert bundle.dependencies == {"orders-api": ["orders-db"]} and bundle.now == task().at


def test_postmortem_adds_the_resolve_the_read_model_has_not_shown_yet(engine):
    state = IncidentState(incident_id="inc-1", dedup_key="k", title="t", opened_at=T0)
    opened = TimelineEvent(seq=1, at=T0, kind=EventKind.OPENED, summary="incident opened")
    incident_repo.project(engine, RecordIncident(workflow_id="w", state=state, events=[opened]), T0)
    facts = IncidentFacts(incident_id="inc-1", title="t", opened_at=T0,
                          resolved_at=T0 + timedelta(minutes=30))
    req = activities(engine)._postmortem_request(task(facts=facts))
    assert [e.kind for e in req.timeline] == ["opened", "resolved"]
    assert req.facts.pages_sent == 0 and req.diagnosis is None


async def test_record_analysis_is_idempotent_on_its_key(engine):
    rec = AnalysisRecord(key="inc-1:classification:x", incident_id="inc-1", at=T0,
                         classification=Classification(category="database",
                                                       severity=Severity.HIGH, score=0.7))
    env = ActivityEnvironment()
    first = await env.run(activities(engine).record_analysis, rec)
    again = await env.run(activities(engine).record_analysis, rec)
    assert first == again and len(analysis_repo.all_for(engine, "inc-1")) == 1
