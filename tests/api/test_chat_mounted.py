"""Slack and Twilio mounted in the real app: signed inbound requests act on real workflows."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from urllib.parse import urlencode

import httpx
import pytest
from twilio.request_validator import RequestValidator

from activities.notify.render import ACTION_ACK
from api.app import create_app
from infra.db.repositories import incidents as repo
from infra.settings.notify import NotifySettings, SlackSettings, TwilioSettings
from tests.api.conftest import BASE_URL, make_settings
from tests.vendors.slack import SlackServer
from tests.workflows.helpers import eventually

SIGNING_SECRET = "slack-signing-secret"
TWILIO_TOKEN = "twilio-auth-token"
ALICE_PHONE = "+15551230000"
PEOPLE = {"version": 1, "users": [{
    "id": "alice", "name": "Alice", "slack_user_id": "UALICE",
    "contact_methods": [{"id": "alice-sms", "kind": "sms", "address": ALICE_PHONE}]}]}


def title() -> str:
    return f"Checkout latency {uuid.uuid4().hex[:8]}"


def slack_headers(body: str) -> dict[str, str]:
    """Signed exactly as Slack signs: v0 HMAC-SHA256 of "v0:{timestamp}:{body}"."""
    ts = str(int(time.time()))
    digest = hmac.new(SIGNING_SECRET.encode(), f"v0:{ts}:{body}".encode(),
                      hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}",
            "Content-Type": "application/x-www-form-urlencoded"}


def ack_click(incident_id: str, user: str = "UALICE") -> str:
    payload = {
        "type": "block_actions", "user": {"id": user}, "trigger_id": "trig-1",
        "team": {"id": "T1"}, "api_app_id": "A1", "token": "legacy",
        "container": {"type": "message", "channel_id": "C0ALERTS",
                      "message_ts": "1700000001.000100"},
        "channel": {"id": "C0ALERTS"}, "message": {"ts": "1700000001.000100"},
        "actions": [{"action_id": ACTION_ACK, "value": incident_id, "type": "button",
                     "block_id": f"incident:{incident_id}", "action_ts": f"{time.time():.6f}"}],
    }
    return urlencode({"payload": json.dumps(payload)})


@pytest.fixture
async def slack():
    async with SlackServer(token="xoxb-good") as server:
        yield server


@pytest.fixture
async def http(temporal_api_factory, slack):
    notify = NotifySettings(
        slack=SlackSettings(bot_token="xoxb-good", signing_secret=SIGNING_SECRET,
                            base_url=slack.url + "/api/"),
        twilio=TwilioSettings(account_sid="AC1", auth_token=TWILIO_TOKEN))
    async with temporal_api_factory(notify=notify) as http:
        assert (await http.put("/api/v1/config", json=PEOPLE)).status_code == 200
        yield http


async def test_a_signed_slack_button_click_acknowledges_the_incident(http, slack, open_incident,
                                                                      shared_engine):
    row = await open_incident(http, title())
    body = ack_click(row["id"])
    response = await http.post("/slack/events", content=body, headers=slack_headers(body))
    assert response.status_code == 200
    acked = await eventually(lambda: (r := repo.find(shared_engine, row["id"]))
                             and r["status"] == "acknowledged" and r)
    assert acked["acknowledged_by"] == "user:Alice"
    reply = await eventually(lambda: [p for p in slack.posts if row["id"] in p.get("text", "")])
    assert "Alice acknowledged" in reply[0]["text"] and reply[0]["channel"] == "C0ALERTS"


async def test_an_unsigned_slack_request_acts_on_nothing(http, open_incident, shared_engine):
    row = await open_incident(http, title())
    body = ack_click(row["id"])
    response = await http.post("/slack/events", content=body,
                               headers={**slack_headers(body), "X-Slack-Signature": "v0=bad"})
    assert response.status_code == 401
    assert repo.find(shared_engine, row["id"])["status"] == "triggered"


async def test_a_signed_sms_reply_acknowledges_the_incident(http, open_incident, shared_engine):
    row = await open_incident(http, title())
    form = {"From": ALICE_PHONE, "To": "+15550000000", "Body": f"{row['number']} ack",
            "MessageSid": f"SM{uuid.uuid4().hex}", "AccountSid": "AC1"}
    url = f"{BASE_URL}/twilio/sms"
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, form)
    response = await http.post("/twilio/sms", content=urlencode(form), headers={
        "X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200
    assert f"Alice acknowledged #{row['number']}" in response.text
    assert repo.find(shared_engine, row["id"])["status"] == "acknowledged"


async def test_an_sms_with_a_forged_signature_is_refused(http, open_incident, shared_engine):
    row = await open_incident(http, title())
    form = {"From": ALICE_PHONE, "Body": f"{row['number']} ack", "MessageSid": "SMx"}
    response = await http.post("/twilio/sms", content=urlencode(form), headers={
        "X-Twilio-Signature": "forged", "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 403
    assert repo.find(shared_engine, row["id"])["status"] == "triggered"


async def test_chat_surfaces_are_mounted_only_when_configured(tmp_path):
    notify = NotifySettings(slack=SlackSettings(bot_token="x", signing_secret="y"),
                            twilio=TwilioSettings(auth_token="z"))
    expected = {"bare": {"/slack/events": 404, "/twilio/sms": 404},
                "configured": {"/slack/events": 401, "/twilio/sms": 403}}
    for name, settings in (("bare", make_settings(tmp_path)),
                           ("configured", make_settings(tmp_path, notify=notify))):
        transport = httpx.ASGITransport(app=create_app(settings))
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            for path, status in expected[name].items():
                assert (await client.post(path, content="x=1")).status_code == status, path
