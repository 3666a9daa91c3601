"""Diagnosis over REST, change events from CI, and evidence attached to incidents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from infra.db.repositories import incidents as repo
from workflows.domain.base import Severity
from workflows.domain.incidents import IncidentState
from workflows.domain.timeline import RecordIncident

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
DEPLOY = {"time": (NOW - timedelta(minutes=12)).isoformat(), "service": "checkout",
          "kind": "deploy", "description": "checkout v2.3.1 rolled out", "ref": "deploy-231"}


def bundle() -> dict:
    onset = NOW - timedelta(minutes=10)
    return {
        "now": NOW.isoformat(),
        "alerts": [{"title": "Checkout 5xx above 5%", "service": "checkout", "severity": "high",
                    "starts_at": onset.isoformat()}],
        "logs": [{"time": onset.isoformat(), "service": "checkout", "level": "error",
                  "message": "NullPointerException in CartController"}],
        "metrics": [{"service": "checkout", "name": "error_rate", "baseline": 0.01,
                     "current": 0.09}],
    }


async def test_a_deploy_posted_by_ci_is_cited_by_the_diagnosis(api):
    posted = await api.post("/api/v1/changes", json=DEPLOY,
                            headers={"Authorization": f"Bearer {api.ingest_key}"})
    assert posted.status_code == 202 and posted.json()["accepted"][0].startswith("chg_")
    r = await api.post("/api/v1/analyze", json=bundle(), params={"title": "Checkout errors"})
    assert r.status_code == 200, r.text
    diagnosis = r.json()
    top = diagnosis["hypotheses"][0]
    assert top["service"] == "checkout" and diagnosis["analyzer"] == "local"
    cited = [e for e in top["evidence"] if e["source"] == "change"]
    assert cited and cited[0]["ref"] == "deploy-231"
    assert "no Anthropic API key" in diagnosis["fallback_reason"]


async def test_a_change_posted_twice_is_stored_once(api):
    for _ in range(2):
        await api.post("/api/v1/changes", json=[DEPLOY])
    listed = (await api.get("/api/v1/changes", params={"service": "checkout"})).json()["items"]
    assert len(listed) == 1 and listed[0]["description"] == "checkout v2.3.1 rolled out"
    since = (NOW + timedelta(hours=1)).isoformat()
    later = await api.get("/api/v1/changes", params={"since": since})
    assert later.json()["items"] == []


async def test_bad_changes_are_refused_naming_the_field(api):
    naive = await api.post("/api/v1/changes", json={**DEPLOY, "time": "2026-01-05T11:48:00"})
    assert naive.status_code == 422 and naive.json()["field"].endswith("time")
    assert "time zone" in naive.json()["error"]
    typo = await api.post("/api/v1/changes", json={**DEPLOY, "servcie": "x"})
    assert typo.status_code == 422 and typo.json()["field"].endswith("servcie")
    empty = await api.post("/api/v1/changes", json=[])
    assert empty.status_code == 422 and empty.json()["error"].startswith("body:")


async def test_analysis_needs_an_admin_key(api):
    r = await api.post("/api/v1/analyze", json=bundle(),
                       headers={"Authorization": f"Bearer {api.ingest_key}"})
    assert r.status_code == 403


def _incident(engine) -> dict:
    state = IncidentState(incident_id="inc-an", dedup_key="an", title="Checkout 5xx",
                          service="checkout", opened_at=NOW, severity=Severity.HIGH, version=1)
    repo.project(engine, RecordIncident(workflow_id="incident-an", state=state), NOW)
    return repo.find(engine, "inc-an")


async def test_attached_logs_are_redacted_and_feed_the_incident_diagnosis(api):
    incident = _incident(api.app.state.lim.engine)
    await api.post("/api/v1/changes", json=DEPLOY)
    onset = (NOW - timedelta(minutes=10)).isoformat()
    r = await api.post(f"/api/v1/incidents/{incident['number']}/attachments", json={
        "title": "checkout pod logs",
        "logs": [{"time": onset, "service": "checkout", "level": "error",
                  "message": "payment failed for jane.doe@example.com: timeout"}],
        "metrics": [{"service": "checkout", "name": "error_rate", "baseline": 0.01,
                     "current": 0.2}]})
    assert r.status_code == 201 and r.json()["logs"] == 1
    stored = (await api.get(f"/api/v1/incidents/{incident['id']}/attachments")).json()["items"]
    assert "jane.doe@example.com" not in stored[0]["logs"][0]["message"]
    diagnosis = (await api.post(f"/api/v1/incidents/{incident['id']}/analyze")).json()
    assert diagnosis["hypotheses"][0]["service"] == "checkout"
    sources = {e["source"] for e in diagnosis["hypotheses"][0]["evidence"]}
    assert {"log", "metric", "change"} <= sources  # the deploy 12 min before it opened


async def test_an_empty_attachment_or_unknown_incident_is_refused(api):
    incident = _incident(api.app.state.lim.engine)
    empty = await api.post(f"/api/v1/incidents/{incident['id']}/attachments", json={})
    assert empty.status_code == 422 and empty.json()["error"].startswith("logs:")
    missing = await api.post("/api/v1/incidents/nope/attachments",
                             json={"logs": [{"time": NOW.isoformat(), "service": "x",
                                             "message": "m"}]})
    assert missing.status_code == 404


# ---- natural-language incident search ------------------------------------------------------


def _project(engine, key: str, severity: Severity, service: str, opened: datetime) -> None:
    state = IncidentState(incident_id=f"inc-{key}", dedup_key=key, title=f"{service} trouble",
                          service=service, opened_at=opened, severity=severity, version=1)
    repo.project(engine, RecordIncident(workflow_id=f"incident-{key}", state=state), opened)


async def test_a_question_becomes_filters_and_says_what_it_understood(api):
    engine = api.app.state.lim.engine
    now = datetime.now(UTC)
    _project(engine, "q1", Severity.CRITICAL, "payments-db", now)
    _project(engine, "q2", Severity.LOW, "payments-db", now)
    _project(engine, "q3", Severity.CRITICAL, "checkout", now)
    _project(engine, "q4", Severity.CRITICAL, "payments-db", now - timedelta(days=40))
    r = await api.get("/api/v1/incidents", params={"q": "critical incidents on payments-db "
                                                        "in the last 7 days"})
    assert r.status_code == 200
    assert [i["id"] for i in r.json()["items"]] == ["inc-q1"] and r.json()["total"] == 1
    query = r.json()["query"]
    assert query["filter"]["severities"] == ["critical"]
    assert query["filter"]["service"] == "payments-db"
    assert "severity=critical" in query["explanation"] and "last 7 day" in query["explanation"]


async def test_explicit_parameters_win_over_the_question(api):
    engine = api.app.state.lim.engine
    now = datetime.now(UTC)
    _project(engine, "q5", Severity.LOW, "search", now)
    r = await api.get("/api/v1/incidents", params={"q": "critical incidents for search",
                                                   "severity": "low"})
    assert [i["id"] for i in r.json()["items"]] == ["inc-q5"]
    plain = (await api.get("/api/v1/incidents")).json()
    assert plain["query"] is None and plain["total"] == 1


async def test_a_question_naming_a_category_filters_by_the_triaged_category(api):
    from sqlalchemy import update

    from infra.db.tables.incidents import IncidentRow

    engine = api.app.state.lim.engine
    now = datetime.now(UTC)
    _project(engine, "c1", Severity.HIGH, "orders", now)
    _project(engine, "c2", Severity.HIGH, "orders", now)
    with engine.begin() as conn:  # what triage's projection records
        conn.execute(update(IncidentRow.__table__).where(IncidentRow.__table__.c.id == "inc-c1")
                     .values(category="database"))
    r = await api.get("/api/v1/incidents", params={"q": "show me all database outages this week"})
    assert [i["id"] for i in r.json()["items"]] == ["inc-c1"]


async def test_analyzing_an_incident_cites_similar_past_incidents(api):
    """The route runs the worker's own evidence gathering (AnalysisRecordActivities), so a
    resolved incident that reads like this one is cited, as in the incident's own diagnosis."""
    from workflows.domain.lifecycle import IncidentStatus

    engine = api.app.state.lim.engine
    past = IncidentState(incident_id="inc-past", dedup_key="past", title="Checkout 5xx",
                         service="checkout", opened_at=NOW - timedelta(days=3),
                         severity=Severity.HIGH, status=IncidentStatus.RESOLVED,
                         resolved_at=NOW - timedelta(days=3) + timedelta(hours=1), version=1)
    repo.project(engine, RecordIncident(workflow_id="incident-past", state=past), NOW)
    incident = _incident(engine)
    await api.post(f"/api/v1/incidents/{incident['id']}/attachments", json={
        "title": "checkout logs", "logs": [{
            "time": (NOW - timedelta(minutes=10)).isoformat(), "service": "checkout",
            "level": "error", "message": "payment failed: too many connections"}]})
    diagnosis = (await api.post(f"/api/v1/incidents/{incident['id']}/analyze")).json()
    cited = [e for h in diagnosis["hypotheses"] for e in h["evidence"]]
    assert {"source": "past_incident", "ref": "inc-past",
            "detail": "earlier incident 'Checkout 5xx'"} in cited, cited
