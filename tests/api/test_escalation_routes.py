"""Escalation commands over REST reach the workflow; bad bodies are refused naming the field."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture
async def http(temporal_api_factory):
    async with temporal_api_factory() as client:
        yield client


async def test_escalation_commands_reach_the_workflow_and_its_refusals_come_back(http, open_incident):
    # No escalation policy is configured here, so the workflow's validators refuse with a reason.
    row = await open_incident(http, f"Checkout 5xx {uuid.uuid4().hex[:8]}")
    for path, body in (("snooze", {"minutes": 30}), ("escalate", None)):
        response = await http.post(f"/api/v1/incidents/{row['number']}/{path}", json=body)
        assert response.status_code == 409, response.text
        assert "no escalation is running" in response.json()["error"]


async def test_a_bad_snooze_is_refused_naming_the_field(http, open_incident):
    row = await open_incident(http, f"Checkout 5xx {uuid.uuid4().hex[:8]}")
    response = await http.post(f"/api/v1/incidents/{row['number']}/snooze", json={"minutes": 0})
    assert response.status_code == 422 and response.json()["field"] == "minutes"


async def test_the_read_model_shows_escalation_and_triage_state(http, open_incident):
    row = await open_incident(http, f"Checkout 5xx {uuid.uuid4().hex[:8]}")
    detail = (await http.get(f"/api/v1/incidents/{row['number']}")).json()
    assert {"escalation", "analysis"} <= set(detail["extra"])
    assert detail["exhausted"] is False
