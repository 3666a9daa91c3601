"""Alerts in, incidents out, over HTTP against the real API, worker and dev server (both DBs)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.e2e.alerts import am_alert, incident, incidents_of, post_alertmanager, unique
from tests.e2e.stack import eventually

pytestmark = pytest.mark.e2e
# Timeline kinds of the lifecycle itself; analysis and paging add others as they finish.
LIFECYCLE = {"opened", "alert_attached", "alert_resolved", "alert_refired", "acknowledged", "note",
             "resolved", "auto_resolved", "reopened", "closed"}


async def test_an_alertmanager_webhook_opens_an_incident_with_its_alert_and_timeline(stack):
    service = unique("checkout")
    async with stack.http() as http:
        answer = await post_alertmanager(http, am_alert("HighErrorRate", service))
        assert len(answer["accepted"]) == 1 and answer["rejected"] == []
        opened = await eventually(lambda: incidents_of(http, service))
        assert len(opened) == 1 and opened[0]["status"] == "triggered"
        assert opened[0]["title"] == "HighErrorRate" and opened[0]["severity"] == "critical"
        detail = await incident(http, opened[0]["id"])
    assert [a["id"] for a in detail["alerts"]] == answer["accepted"]
    kinds = [e["kind"] for e in detail["timeline"]]
    assert kinds[:2] == ["opened", "alert_attached"]
    assert detail["timeline"][1]["details"]["alert_id"] == answer["accepted"][0]


async def test_fifty_concurrent_requests_for_one_alert_open_exactly_one_incident(stack):
    service = unique("payments")
    alert = am_alert("PaymentsDown", service)
    async with stack.http() as http:
        answers = await asyncio.gather(*(post_alertmanager(http, alert) for _ in range(50)))
        assert len({a["accepted"][0] for a in answers}) == 1  # one occurrence, stored once
        opened = await eventually(lambda: incidents_of(http, service))
        stored = (await http.get(f"/api/v1/alerts/{answers[0]['accepted'][0]}")).json()
    assert len(opened) == 1 and opened[0]["alert_count"] == 1
    assert stored["occurrences"] == 50


async def test_fifty_concurrent_alerts_of_one_group_become_one_incident_with_fifty_alerts(stack):
    service = unique("search")
    alerts = [am_alert("SearchSlow", service, instance=f"10.1.0.{i}:9100") for i in range(50)]
    async with stack.http() as http:
        await asyncio.gather(*(post_alertmanager(http, a) for a in alerts))

        async def all_attached():
            found = await incidents_of(http, service)
            return found if found and found[0]["alert_count"] == 50 else None

        opened = await eventually(all_attached)
    assert len(opened) == 1


async def test_a_storm_of_two_thousand_copies_puts_a_handful_of_events_into_history(stack):
    service = unique("ingest")
    copies = [am_alert("QueueBacklog", service)] * 20
    async with stack.http() as http:
        limit = asyncio.Semaphore(8)

        async def send():
            async with limit:
                return await post_alertmanager(http, *copies)

        answers = await asyncio.gather(*(send() for _ in range(100)))
        alert_id = answers[0]["accepted"][0]
        stored = (await http.get(f"/api/v1/alerts/{alert_id}")).json()
        opened = await eventually(lambda: incidents_of(http, service))
        await eventually(lambda: _outbox_drained(http))
    assert stored["occurrences"] == 2000  # every copy was stored (counted) before the 202
    history = await (await stack.temporal()).get_workflow_handle(opened[0]["workflow_id"]).fetch_history()
    signals = [e for e in history.events if e.HasField("workflow_execution_signaled_event_attributes")]
    # Analysis and the escalation ladder add their own events; none of them scale with copies.
    assert len(signals) <= 2 and len(history.events) < 100, [e.event_type for e in history.events]


async def _outbox_drained(http) -> bool:
    stats = (await http.get("/api/v1/stats/ingest")).json()
    return stats["outbox_pending"] == 0


async def test_acknowledge_note_resolve_and_reopen_over_rest_and_an_illegal_step_is_409(stack):
    service = unique("ledger")
    async with stack.http() as http:
        await post_alertmanager(http, am_alert("LedgerLag", service))
        ref = (await eventually(lambda: incidents_of(http, service)))[0]["id"]

        async def act(step: str, body: dict | None = None, status: int = 200) -> dict:
            answer = await http.post(f"/api/v1/incidents/{ref}/{step}", json=body or {})
            assert answer.status_code == status, answer.text
            return answer.json()

        assert (await act("acknowledge", {"note": "looking"}))["status"] == "acknowledged"
        refused = await act("acknowledge", status=409)
        assert "acknowledged" in refused["error"] and refused["retryable"] is False
        await act("notes", {"text": "rolled back deploy 4182"})
        assert (await act("resolve", {"note": "fixed"}))["status"] == "resolved"
        await act("resolve", status=409)
        assert (await act("reopen", {"note": "still failing"}))["status"] == "triggered"
        assert (await http.post("/api/v1/incidents/no-such-incident/acknowledge")).status_code == 404
        detail = await incident(http, ref)
    lifecycle = [e for e in detail["timeline"] if e["kind"] in LIFECYCLE]  # analysis adds more
    assert [e["kind"] for e in lifecycle] == ["opened", "alert_attached", "acknowledged", "note",
                                              "resolved", "reopened"]
    assert [e["seq"] for e in detail["timeline"]] == list(range(1, len(detail["timeline"]) + 1))
    assert lifecycle[2]["actor_kind"] == "key"


async def test_an_incident_resolves_itself_when_every_alert_resolves_at_the_source(stack):
    service = unique("cache")
    firing = [am_alert("CacheMiss", service, instance=f"10.2.0.{i}:9100") for i in (1, 2)]
    async with stack.http() as http:
        await post_alertmanager(http, *firing)
        ref = (await eventually(lambda: incidents_of(http, service)))[0]["id"]
        resolved = [am_alert("CacheMiss", service, instance=f"10.2.0.{i}:9100", status="resolved")
                    for i in (1, 2)]
        await post_alertmanager(http, resolved[0])
        await post_alertmanager(http, resolved[1])

        async def resolved_incident():
            found = await incident(http, ref)
            return found if found["status"] == "resolved" else None

        detail = await eventually(resolved_incident)
    assert detail["resolved_by"].startswith("system")
    kinds = [e["kind"] for e in detail["timeline"] if e["kind"] in LIFECYCLE]
    assert kinds.count("alert_resolved") == 2 and kinds[-1] == "auto_resolved"


async def test_readyz_answers_200_when_up_and_503_with_reasons_when_temporal_is_down(stack):
    async with stack.http(key="") as http:
        # Polled: on a saturated box a single health RPC may exceed the API's 3 s bound.
        up = await eventually(lambda: _ready(http), timeout=60)
        assert up.json()["checks"] == {"database": "ok", "temporal": "ok"}
        with stack.temporal_frozen():
            down = await http.get("/readyz")
        assert down.status_code == 503, down.text
        checks = down.json()["checks"]
        assert checks["database"] == "ok" and checks["temporal"] != "ok" and checks["temporal"]
        await eventually(lambda: _ready(http), timeout=60)


async def _ready(http):
    answer = await http.get("/readyz")
    return answer if answer.status_code == 200 else None


async def test_requests_without_a_key_or_with_a_revoked_key_get_401(stack):
    key_id, secret = await asyncio.to_thread(stack.create_key, unique("revoked"), "ingest")
    await asyncio.to_thread(stack.lim, "keys", "revoke", key_id)
    async with stack.http(key="") as anonymous:
        assert (await anonymous.get("/api/v1/incidents")).status_code == 401
        assert (await anonymous.post("/api/v1/alerts", json={"title": "x"})).status_code == 401
    async with stack.http(key="lim_not-a-key") as unknown:
        assert (await unknown.get("/api/v1/incidents")).status_code == 401
    async with stack.http(key=secret) as revoked:
        refused = await revoked.post("/api/v1/alerts", json={"title": "x"})
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    async with stack.http() as admin:
        assert (await admin.get("/api/v1/incidents")).status_code == 200


async def test_the_worker_serves_temporal_sdk_metrics_for_prometheus(stack):
    service = unique("metrics")
    async with stack.http() as http:
        await post_alertmanager(http, am_alert("HighErrorRate", service))
        await eventually(lambda: incidents_of(http, service))
        async with httpx.AsyncClient(timeout=10) as plain:
            text = (await plain.get(stack.worker_metrics_url)).text
    names = {line.split("{")[0].split(" ")[0] for line in text.splitlines()
             if line and not line.startswith("#")}
    # What an operator graphs and alerts on: task latency and how many polls/slots are in use.
    assert {"temporal_workflow_task_schedule_to_start_latency_bucket",
            "temporal_activity_execution_latency_bucket"} <= names, sorted(names)[:40]
