"""Incident questions through Claude (the official SDK against the local Messages API server),
falling back to the local parser on any failure and saying which parser answered."""

from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from activities.llm.claude import ClaudeClient
from activities.llm.query import build_query_parser
from infra.settings.ai import AiSettings
from tests.vendors.anthropic_server import API_KEY, AnthropicServer
from workflows.domain.analysis import Category
from workflows.domain.base import Severity

NOW = datetime(2024, 6, 6, 15, 30, tzinfo=UTC)  # a Thursday
QUESTION = "show me all database outages this week"
ANSWER = {"category": "database", "severities": ["critical", "high"],
          "since": "2024-06-03T00:00:00Z"}


@pytest.fixture
async def server():
    async with AnthropicServer() as srv:
        yield srv


def parser_for(server, cap=4_000, timeout=5.0):
    settings = AiSettings(anthropic_api_key=SecretStr(API_KEY), anthropic_base_url=server.url,
                          timeout_seconds=timeout, query_token_budget=cap)
    return build_query_parser(settings, ClaudeClient(settings))


async def test_claude_turns_the_question_into_the_filter_and_says_it_answered(server):
    server.answer(ANSWER)
    answer = await parser_for(server).parse(QUESTION, NOW)
    assert answer.parser == "llm" and answer.fallback_reason == ""
    assert answer.filter.category is Category.DATABASE
    assert answer.filter.severities == [Severity.CRITICAL, Severity.HIGH]
    assert answer.filter.since == datetime(2024, 6, 3, tzinfo=UTC)
    assert answer.explanation.startswith("understood: category=database; severity=critical,high")
    assert answer.tokens.input_tokens == 812 and answer.tokens.cost_usd > 0
    sent = server.received[0].json
    assert sent["tool_choice"] == {"type": "tool", "name": "report_filter"}
    assert sent["max_tokens"] <= 2_000
    assert "2024-06-06T15:30:00+00:00" in sent["messages"][0]["content"]


async def test_the_question_is_redacted_before_it_leaves(server):
    server.answer({"service": "checkout"})
    await parser_for(server).parse("incidents bob@example.com opened for checkout", NOW)
    body = server.received[0].body.decode()
    assert "bob@example.com" not in body and "[REDACTED:email]" in body


async def test_an_api_500_falls_back_to_the_local_parser_and_says_why(server):
    server.fail(500)
    answer = await parser_for(server).parse(QUESTION, NOW)
    assert answer.parser == "local" and "HTTP 500" in answer.fallback_reason
    assert answer.filter.category is Category.DATABASE  # the local parser understood it too
    assert answer.filter.since == datetime(2024, 6, 3, tzinfo=UTC)


async def test_a_timeout_falls_back_to_the_local_parser(server):
    server.hang()
    answer = await parser_for(server, timeout=0.3).parse(QUESTION, NOW)
    assert answer.parser == "local" and "timed out" in answer.fallback_reason


async def test_an_answer_of_the_wrong_shape_is_refused_once_not_retried(server):
    server.answer(ANSWER)
    server.answer_malformed()
    answer = await parser_for(server).parse(QUESTION, NOW)
    assert answer.parser == "local" and "LlmAnswerInvalid" in answer.fallback_reason
    assert "unexpected" in answer.fallback_reason  # the unknown field is named
    assert len(server.received) == 1


async def test_a_body_that_is_not_json_falls_back_to_the_local_parser(server):
    server.answer_garbled()
    answer = await parser_for(server).parse(QUESTION, NOW)
    assert answer.parser == "local" and "LlmAnswerInvalid" in answer.fallback_reason
    assert len(server.received) == 1


@pytest.mark.parametrize("bad", [
    {"category": "kitchen"},  # not a category
    {"severities": ["catastrophic"]},  # not a severity
    {"service": "checkout; drop table"},  # not a service name
    {"since": "2024-06-03T00:00:00"},  # no time zone: which Monday?
    {"since": "2024-07-01T00:00:00Z"},  # after now
    {"since": "2024-06-05T00:00:00Z", "until": "2024-06-04T00:00:00Z"},  # empty range
])
async def test_unknown_values_and_impossible_ranges_are_refused(server, bad):
    server.answer(bad)
    answer = await parser_for(server).parse(QUESTION, NOW)
    assert answer.parser == "local" and "LlmAnswerInvalid" in answer.fallback_reason


async def test_the_per_query_token_cap_keeps_claude_out_when_too_small(server):
    server.answer(ANSWER)
    answer = await parser_for(server, cap=300).parse(QUESTION, NOW)
    assert answer.parser == "local" and "BudgetExhausted" in answer.fallback_reason
    assert server.received == []


async def test_without_a_key_the_local_parser_answers_and_says_so():
    answer = await build_query_parser(AiSettings()).parse(QUESTION, NOW)
    assert answer.parser == "local"
    assert answer.fallback_reason == "no Anthropic API key configured"
    assert answer.filter.category is Category.DATABASE
