from datetime import UTC, datetime

import pytest
from pydantic import SecretStr
from temporalio.testing import ActivityEnvironment

from activities.llm.activities import AnalysisActivities
from activities.llm.claude import ClaudeClient
from activities.llm.fallback import build_analyzer, build_local_engine
from infra.settings.ai import AiSettings
from tests.vendors.anthropic_server import API_KEY, AnthropicServer, api_key_of
from workflows.domain.analysis import (
    AnalysisBundle,
    Category,
    ClassifyRequest,
    DiagnoseRequest,
    IncidentFacts,
    LogLine,
    ObservedAlert,
    PostmortemRequest,
)
from workflows.domain.base import Severity

T = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
DIAGNOSIS = {
    "hypotheses": [
        {
            "cause": "connection pool exhausted on payments-db",
            "service": "payments-db",
            "category": "database",
            "confidence": 0.8,
            "evidence": [{"source": "log", "ref": "log[0]", "detail": "too many clients"}],
        },
        {"cause": "a guess without evidence", "service": "search", "confidence": 0.3},
    ],
    "remediation": [
        {
            "action": "Lower pool size",
            "command": "kubectl set env ...",
            "expected_outcome": "fewer connections",
            "risk": "low",
        }
    ],
    "notes": "from the bundle",
}
CLASSIFICATION = {
    "category": "database",
    "service": "payments-db",
    "confidence": 0.9,
    "reason": "postgres",
    "factors": {"impact": 1, "urgency": 1, "scope": 0.8, "business_criticality": 1},
}


@pytest.fixture
async def server():
    async with AnthropicServer() as srv:
        yield srv


@pytest.fixture(scope="module")
def local_engine():
    return build_local_engine(AiSettings())


@pytest.fixture(scope="module")
def local_only(local_engine):
    return build_analyzer(AiSettings(), local=local_engine)


@pytest.fixture
def analyzer_for(local_engine):
    return lambda *args, **kwargs: _analyzer_for(local_engine, *args, **kwargs)


def _analyzer_for(local_engine, server, timeout=5.0, budget=60_000, key=API_KEY):
    settings = AiSettings(
        anthropic_api_key=SecretStr(key),
        anthropic_base_url=server.url,
        timeout_seconds=timeout,
        incident_token_budget=budget,
    )
    return build_analyzer(settings, ClaudeClient(settings), local_engine)


def diagnose_request(spent=0):
    bundle = AnalysisBundle(
        alerts=[
            ObservedAlert(title="PostgresqlTooManyConnections", service="payments-db", starts_at=T)
        ],
        logs=[
            LogLine(
                time=T,
                service="payments-db",
                level="error",
                message="too many clients; contact dba alice@example.com",
            )
        ],
    )
    return DiagnoseRequest(incident_id="inc_1", title="db", bundle=bundle, tokens_spent=spent)


async def test_claude_answers_are_parsed_costed_and_uncited_guesses_dropped(server, analyzer_for):
    server.answer(DIAGNOSIS)
    result = await analyzer_for(server).diagnose(diagnose_request())
    assert result.analyzer == "llm" and result.fallback_reason == ""
    assert [h.service for h in result.hypotheses] == ["payments-db"]
    assert result.tokens.cache_read_input_tokens == 1450
    # 812 in × $3 + 240 out × $15 + 1450 cache reads × $0.30 per million tokens
    assert result.tokens.cost_usd == pytest.approx(0.006471)
    sent = server.received[0]
    assert api_key_of(sent.headers) == API_KEY and "anthropic-version" in sent.headers
    assert "alice@example.com" not in sent.body.decode()
    assert "[REDACTED:email]" in sent.body.decode()


async def test_classification_through_claude_derives_severity_from_the_factors(
    server, analyzer_for
):
    server.answer(CLASSIFICATION)
    result = await analyzer_for(server).classify(ClassifyRequest(title="PostgresDown"))
    assert result.classifier == "llm"
    assert result.category is Category.DATABASE and result.severity is Severity.CRITICAL


@pytest.mark.parametrize("status", [500, 529])
async def test_server_errors_fall_back_to_the_local_analyzer_and_say_why(
    server, analyzer_for, status
):
    server.fail(status)
    result = await analyzer_for(server).diagnose(diagnose_request())
    assert result.analyzer == "local"
    assert f"HTTP {status}" in result.fallback_reason
    assert result.top.service == "payments-db"


async def test_a_timeout_falls_back_to_the_local_analyzer(server, analyzer_for):
    server.hang()
    result = await analyzer_for(server, timeout=0.3).classify(ClassifyRequest(title="HostDown"))
    assert result.classifier == "local"
    assert "timed out" in result.fallback_reason


async def test_a_malformed_answer_is_not_retried_and_falls_back(server, analyzer_for):
    server.answer(DIAGNOSIS)
    server.answer_malformed()
    result = await analyzer_for(server).diagnose(diagnose_request())
    assert result.analyzer == "local"
    assert "LlmAnswerInvalid" in result.fallback_reason
    assert len(server.received) == 1


async def test_an_exhausted_budget_never_calls_the_api(server, analyzer_for):
    server.answer(DIAGNOSIS)
    result = await analyzer_for(server, budget=1000).diagnose(diagnose_request(spent=1000))
    assert result.analyzer == "local"
    assert "budget exhausted" in result.fallback_reason
    almost = await analyzer_for(server, budget=1000).diagnose(diagnose_request(spent=900))
    assert "BudgetExhausted" in almost.fallback_reason
    assert server.received == []


async def test_a_wrong_api_key_falls_back_without_pretending_it_is_transient(server, analyzer_for):
    server.answer(DIAGNOSIS)
    result = await analyzer_for(server, key="sk-wrong").diagnose(diagnose_request())
    assert result.analyzer == "local" and "HTTP 401" in result.fallback_reason


async def test_without_a_key_the_local_analyzer_answers_every_activity(local_only):
    activities = AnalysisActivities(local_only)
    env = ActivityEnvironment()
    classified = await env.run(activities.classify, ClassifyRequest(title="GPUTemperatureHigh"))
    assert classified.category is Category.GPU_ACCELERATOR
    assert classified.fallback_reason == "no Anthropic API key configured"
    diagnosis = await env.run(activities.diagnose, diagnose_request())
    assert diagnosis.analyzer == "local"
    facts = IncidentFacts(incident_id="inc_1", title="DB down", opened_at=T, resolved_at=T)
    draft = await env.run(activities.postmortem, PostmortemRequest(facts=facts))
    assert draft.generator == "local" and "## Root cause" in draft.markdown
