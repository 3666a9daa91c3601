"""The Slack surface end to end: signed requests through FastAPI and Bolt into IncidentActions,
answers back to a local Slack Web API server."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI

from activities.notify.render import ACTION_ACK, ACTION_APPROVE, ACTION_ESCALATE
from activities.notify.slack import slack_client
from api.actions import IncidentSummary
from api.slack.app import build_slack_app, slack_router
from api.slack.inmemory_actions import InMemoryIncidentActions
from api.slack.users import StaticSlackUsers
from infra.settings.notify import SlackSettings
from tests.vendors.slack import SlackServer
from workflows.domain.base import Actor, ActorKind, Severity
from workflows.domain.lifecycle import IncidentStatus

SECRET = "slack-signing-secret"
ALICE = Actor(kind=ActorKind.USER, id="alice", name="Alice")


def sign(body: str, timestamp: int, secret: str = SECRET) -> dict[str, str]:
    """Headers exactly as Slack signs a request (v0 HMAC-SHA256 of "v0:ts:body")."""
    base = f"v0:{timestamp}:{body}".encode()
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": f"v0={digest}",
            "Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
async def slack():
    async with SlackServer(token="xoxb-good") as server:
        yield server


@pytest.fixture
def actions() -> InMemoryIncidentActions:
    actions = InMemoryIncidentActions()
    actions.add(IncidentSummary(id="inc-42", number=42, title="Checkout 5xx",
                                status=IncidentStatus.TRIGGERED, severity=Severity.CRITICAL))
    return actions


@pytest.fixture
async def api(slack, actions):
    settings = SlackSettings(bot_token="xoxb-good", signing_secret=SECRET,
                             base_url=slack.url + "/api/")
    bolt = build_slack_app(settings, actions, StaticSlackUsers({"UALICE": ALICE}),
                           client=slack_client("xoxb-good", slack.url + "/api/", 5),
                           process_before_response=True)
    app = FastAPI()
    app.include_router(slack_router(bolt))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://lim") as client:
        yield client


def button_body(action_id: str, value: str, user: str = "UALICE") -> str:
    payload = {
        "type": "block_actions", "user": {"id": user}, "trigger_id": "trig-1",
        "team": {"id": "T1"}, "api_app_id": "A1", "token": "legacy",
        "container": {"type": "message", "channel_id": "C0ALERTS",
                      "message_ts": "1700000001.000100"},
        "channel": {"id": "C0ALERTS"}, "message": {"ts": "1700000001.000100"},
        "actions": [{"action_id": action_id, "value": value, "type": "button",
                     "block_id": "incident:inc-42", "action_ts": "1700000050.123"}],
    }
    return urlencode({"payload": json.dumps(payload)})


def command_body(text: str, slack: SlackServer, user: str = "UALICE") -> str:
    return urlencode({"command": "/incident", "text": text, "user_id": user,
                      "channel_id": "C0ALERTS", "team_id": "T1", "trigger_id": "trig-2",
                      "response_url": slack.url + "/respond/1", "api_app_id": "A1"})


async def post(api, body: str, timestamp: int | None = None, secret: str = SECRET):
    ts = int(time.time()) if timestamp is None else timestamp
    return await api.post("/slack/events", content=body, headers=sign(body, ts, secret))


async def test_ack_button_acknowledges_and_answers_in_the_thread(api, slack, actions):
    response = await post(api, button_body(ACTION_ACK, "inc-42"))
    assert response.status_code == 200
    assert actions.log == [("ack", "inc-42", "alice")]
    [reply] = slack.thread_replies("C0ALERTS", "1700000001.000100")
    assert "Alice acknowledged inc-42" in reply["text"] and "acknowledged" in reply["text"]


async def test_a_redelivered_click_acts_once(api, slack, actions):
    for _ in range(2):
        await post(api, button_body(ACTION_ACK, "inc-42"))
    assert actions.log == [("ack", "inc-42", "alice")]
    assert "already done" in slack.posts[-1]["text"]


async def test_escalate_after_resolve_is_refused_with_an_answer(api, slack, actions):
    await actions.resolve("42", ALICE, "r1")
    await post(api, button_body(ACTION_ESCALATE, "inc-42"))
    assert "Refused" in slack.posts[-1]["text"]


async def test_approve_button_passes_the_proposal(api, actions):
    await post(api, button_body(ACTION_APPROVE, "inc-42|prop-7"))
    assert actions.log == [("approve:prop-7", "inc-42", "alice")]


async def test_unlinked_slack_user_cannot_act(api, slack, actions):
    await post(api, button_body(ACTION_ACK, "inc-42", user="USTRANGER"))
    assert actions.log == [] and "not linked" in slack.posts[-1]["text"]


async def test_unsigned_request_is_refused(api, actions):
    body = button_body(ACTION_ACK, "inc-42")
    response = await api.post("/slack/events", content=body,
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 401 and actions.log == []


async def test_request_signed_with_another_secret_is_refused(api, actions):
    response = await post(api, button_body(ACTION_ACK, "inc-42"), secret="guess")
    assert response.status_code == 401 and actions.log == []


async def test_stale_request_is_refused(api, actions):
    response = await post(api, button_body(ACTION_ACK, "inc-42"),
                          timestamp=int(time.time()) - 600)
    assert response.status_code == 401 and actions.log == []


async def test_slash_command_lists_open_incidents(api, slack):
    response = await post(api, command_body("list", slack))
    assert response.status_code == 200
    assert "#42 [critical] Checkout 5xx (triggered)" in slack.responses[-1]["text"]


async def test_slash_command_resolves_by_number(api, slack, actions):
    await post(api, command_body("resolve 42", slack))
    assert actions.log == [("resolve", "inc-42", "alice")]
    assert "resolved #42" in slack.responses[-1]["text"]


async def test_slash_command_declares_an_incident(api, slack, actions):
    await post(api, command_body('declare "Payments down" critical', slack))
    assert actions.log[-1][0] == "declare"
    assert "Declared #43 Payments down (critical)" in slack.responses[-1]["text"]


async def test_slash_command_nonsense_gets_the_usage(api, slack, actions):
    await post(api, command_body("dance 42", slack))
    assert "Usage" in slack.responses[-1]["text"] and actions.log == []
