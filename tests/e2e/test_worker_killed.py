"""SIGKILL the worker while incidents are open and work keeps arriving; nothing is lost or doubled.

Ingestion does not need the worker (alerts are stored, then signalled; signals are durable in
Temporal), so the API keeps answering 202 during the outage. A REST acknowledge sent during the
outage waits for a worker up to the API's command wait, is queued durably past it (202), and
lands once after the restart either way.
"""

from __future__ import annotations

import asyncio
import signal

import pytest

from tests.e2e.alerts import am_alert, incident, incidents_of, post_alertmanager, unique
from tests.e2e.stack import eventually

pytestmark = pytest.mark.e2e
INCIDENTS = 4
NEW_PER_INCIDENT = 2


async def test_a_worker_killed_with_sigkill_loses_and_duplicates_nothing(stack):
    services = [unique("kill") for _ in range(INCIDENTS)]
    accepted: dict[str, set[str]] = {s: set() for s in services}
    async with stack.http() as http:
        for s in services:
            accepted[s] |= set((await post_alertmanager(http, am_alert("NodeDown", s)))["accepted"])
        refs = {s: (await eventually(lambda s=s: incidents_of(http, s)))[0]["id"] for s in services}

        stack.kill_worker(signal.SIGKILL)
        ack = asyncio.create_task(http.post(f"/api/v1/incidents/{refs[services[0]]}/acknowledge",
                                            headers={"idempotency-key": "ack-during-outage"},
                                            json={"note": "on it"}))
        outage_ids = await _more_alerts_arrive(http, services, accepted)
        stored = (await http.post("/api/v1/alerts/lookup", json={"ids": outage_ids})).json()
        assert stored["missing"] == []

        stack.start_worker(wait=False)
        await stack.worker_polling()
        first = await asyncio.wait_for(ack, timeout=120)
        # 200 if the worker was back within the API's command wait, else 202: queued durably.
        assert first.status_code in (200, 202), first.text

        async def acknowledged():
            return (await incident(http, refs[services[0]]))["status"] == "acknowledged"

        await eventually(acknowledged, timeout=120)
        again = await http.post(f"/api/v1/incidents/{refs[services[0]]}/acknowledge",
                                headers={"idempotency-key": "ack-during-outage"})
        assert again.status_code == 200 and again.json()["status"] == "acknowledged", again.text
        details = [await eventually(lambda s=s: _all_attached(http, refs[s])) for s in services]

    for s, detail in zip(services, details):
        timeline = detail["timeline"]
        attached = [e["details"]["alert_id"] for e in timeline if e["kind"] == "alert_attached"]
        assert sorted(attached) == sorted(accepted[s])  # every accepted alert, exactly once
        assert [e["seq"] for e in timeline] == list(range(1, len(timeline) + 1))
        assert [e["kind"] for e in timeline].count("opened") == 1
        acks = [e for e in timeline if e["kind"] == "acknowledged"]
        assert len(acks) == (1 if s == services[0] else 0)


async def _more_alerts_arrive(http, services: list[str], accepted: dict[str, set[str]]) -> list[str]:
    """New alerts for every incident plus repeats of the first, sent while no worker runs."""
    ids: list[str] = []
    for s in services:
        fresh = [am_alert("NodeDown", s, instance=f"10.0.0.{i + 2}:9100") for i in range(NEW_PER_INCIDENT)]
        answer = await post_alertmanager(http, am_alert("NodeDown", s), *fresh)
        accepted[s] |= set(answer["accepted"])
        ids += answer["accepted"]
    return ids


async def _all_attached(http, ref: str) -> dict | None:
    detail = await incident(http, ref)
    return detail if detail["alert_count"] == 1 + NEW_PER_INCIDENT else None
