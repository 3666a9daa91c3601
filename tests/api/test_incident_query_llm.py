"""`GET /api/v1/incidents?q=...` with an Anthropic key configured: Claude (the official SDK
against the local Messages API server) answers the filter, the local parser stands in when it
fails, and the response says which parser answered and what filter it used."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from infra.db.repositories import incidents as repo
from infra.settings.ai import AiSettings
from tests.api.conftest import make_settings, running_api
from tests.vendors.anthropic_server import API_KEY, AnthropicServer
from workflows.domain.base import Severity
from workflows.domain.incidents import IncidentState
from workflows.domain.timeline import RecordIncident


def _project(engine, key: str, severity: Severity, service: str, opened: datetime) -> None:
    state = IncidentState(incident_id=f"inc-{key}", dedup_key=key, title=f"{service} trouble",
                          service=service, opened_at=opened, severity=severity, version=1)
    repo.project(engine, RecordIncident(workflow_id=f"incident-{key}", state=state), opened)


@pytest.fixture
async def claude():
    async with AnthropicServer() as server:
        yield server


@pytest.fixture
async def api_with_claude(tmp_path, api_engine, claude):
    ai = AiSettings(anthropic_api_key=SecretStr(API_KEY), anthropic_base_url=claude.url,
                    timeout_seconds=5)
    async with running_api(make_settings(tmp_path, ai=ai), api_engine) as http:
        now = datetime.now(UTC)
        _project(api_engine, "p1", Severity.CRITICAL, "payments-db", now)
        _project(api_engine, "p2", Severity.LOW, "payments-db", now)
        _project(api_engine, "s1", Severity.CRITICAL, "search", now)
        yield http


async def test_claude_answers_the_question_and_the_route_says_so(api_with_claude, claude):
    since = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)
    # The local parser finds no filter in this question (it would list all three incidents):
    # one item back is proof that Claude's filter is the one applied.
    claude.answer({"service": "search", "since": since.isoformat()})
    r = await api_with_claude.get("/api/v1/incidents",
                                  params={"q": "has anything about searching gone wrong lately"})
    assert r.status_code == 200, r.text
    query = r.json()["query"]
    assert query["parser"] == "llm" and query["fallback_reason"] == ""
    assert query["filter"]["service"] == "search"
    assert query["explanation"].startswith("understood: service=search; since ")
    assert query["tokens"]["input_tokens"] == 812
    assert [i["id"] for i in r.json()["items"]] == ["inc-s1"]


async def test_an_api_500_falls_back_to_the_local_parser_and_the_route_says_why(
    api_with_claude, claude
):
    claude.fail(500)
    r = await api_with_claude.get("/api/v1/incidents",
                                  params={"q": "critical incidents on payments-db"})
    query = r.json()["query"]
    assert query["parser"] == "local" and "HTTP 500" in query["fallback_reason"]
    assert query["filter"]["service"] == "payments-db"
    assert [i["id"] for i in r.json()["items"]] == ["inc-p1"]


async def test_a_malformed_answer_falls_back_to_the_local_parser(api_with_claude, claude):
    claude.answer({"category": "database", "sql": "select * from incidents"})
    r = await api_with_claude.get("/api/v1/incidents",
                                  params={"q": "critical incidents on payments-db"})
    query = r.json()["query"]
    assert query["parser"] == "local" and "LlmAnswerInvalid" in query["fallback_reason"]
    assert [i["id"] for i in r.json()["items"]] == ["inc-p1"]
    assert len(claude.received) == 1  # refused once, not asked again


async def test_without_a_key_the_route_reports_the_local_parser(api):
    r = await api.get("/api/v1/incidents", params={"q": "open incidents this week"})
    query = r.json()["query"]
    assert query["parser"] == "local"
    assert query["fallback_reason"] == "no Anthropic API key configured"
