"""GET /incidents/{ref}/analysis and /postmortem over the real app and a migrated SQLite DB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from activities.analysis_record import record_row
from infra.db.repositories import analysis as analysis_repo
from infra.db.repositories import incidents as incident_repo
from workflows.analysis_flow import AnalysisRecord
from workflows.domain.analysis import (
    Category,
    Classification,
    Diagnosis,
    Evidence,
    EvidenceSource,
    Hypothesis,
    PostmortemDraft,
    TokenUsage,
)
from workflows.domain.base import Severity
from workflows.domain.incidents import IncidentState
from workflows.domain.timeline import RecordIncident

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def open_incident(engine, incident_id: str = "inc-1") -> int:
    state = IncidentState(incident_id=incident_id, dedup_key="k1", title="Orders DB pool exhausted",
                          service="orders-db", opened_at=T0, version=1)
    return incident_repo.project(engine, RecordIncident(workflow_id="incident-k1", state=state), T0)


def store(engine, key: str, at: datetime, **answer) -> None:
    analysis_repo.store(engine, record_row(AnalysisRecord(key=key, incident_id="inc-1", at=at,
                                                           **answer)))


CLASSIFICATION = Classification(
    category=Category.DATABASE, severity=Severity.HIGH, score=0.7, confidence=0.8,
    classifier="llm", tokens=TokenUsage(input_tokens=1_000, output_tokens=200, cost_usd=0.006))
DIAGNOSIS = Diagnosis(
    hypotheses=[Hypothesis(cause="connection leak after deploy", service="orders-db",
                           confidence=0.6, evidence=[Evidence(
                               source=EvidenceSource.CHANGE, ref="chg_1", detail="deploy 9:58")])],
    analyzer="local", fallback_reason="token budget exhausted (60000 of 60000 spent)")


async def test_analysis_shows_who_answered_why_and_what_it_cost(api, api_engine):
    number = open_incident(api_engine)
    store(api_engine, "c1", T0, classification=CLASSIFICATION)
    store(api_engine, "c1", T0, classification=CLASSIFICATION)  # a retried write: stored once
    store(api_engine, "d1", T0 + timedelta(minutes=1), diagnosis=DIAGNOSIS)
    body = (await api.get(f"/api/v1/incidents/{number}/analysis")).json()
    assert body["classification"]["analyzer"] == "llm"
    assert body["classification"]["category"] == "database"
    assert body["diagnosis"]["analyzer"] == "local"
    assert body["diagnosis"]["fallback_reason"].startswith("token budget exhausted")
    assert body["diagnosis"]["hypotheses"][0]["evidence"][0]["ref"] == "chg_1"
    assert body["cost"]["tokens"] == 1_200 and body["cost"]["calls"] == 2
    assert body["cost"]["cost_usd"] == 0.006 and body["postmortem_available"] is False


async def test_postmortem_is_markdown_once_drafted(api, api_engine):
    open_incident(api_engine)
    missing = await api.get("/api/v1/incidents/inc-1/postmortem")
    assert missing.status_code == 404 and "resolves" in missing.json()["error"]
    store(api_engine, "p1", T0, postmortem=PostmortemDraft(incident_id="inc-1",
                                                            markdown="# Post-mortem: old\n"))
    store(api_engine, "p2", T0 + timedelta(hours=1),
          postmortem=PostmortemDraft(incident_id="inc-1", markdown="# Post-mortem: newer\n"))
    response = await api.get("/api/v1/incidents/inc-1/postmortem")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/markdown")
    assert response.text == "# Post-mortem: newer\n" and response.headers["x-analyzer"] == "local"


async def test_unknown_incident_is_a_404(api):
    assert (await api.get("/api/v1/incidents/nope/analysis")).status_code == 404
