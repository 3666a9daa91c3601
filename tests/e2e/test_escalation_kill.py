"""A second-scale ladder on the real dev server, with the worker SIGKILLed between steps.

Ladder: alice at 0s, bob at 4s, carol at 8s, all through a signed webhook to a receiver in this
process. Outage 1 (after alice's page): the worker dies while bob's timer is pending and comes
back; bob's page still goes out, once, and the test prints how late it was. Outage 2 (after
bob's page): an acknowledge sent over REST while no worker runs is answered 202 "queued" after
the API's wait (the command goes into history as a signal), and applies once the worker is
back: carol, due during the outage, is never paged, and a retry of the ack acts no second time.
Runs on SQLite only (bounded).
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest
from aiohttp import web

from tests.e2e.alerts import am_alert, incident, incidents_of, post_alertmanager, unique
from tests.e2e.stack import eventually, running_stack
from tests.vendors.webhook import WebhookReceiver

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]
SECRET = "whsec-e2e-kill"
STEP_S = 4.0

CONFIG = """
default_escalation_policy: kill-ladder
users:
  - {id: alice, contact_methods: [{id: alice-hook, kind: webhook, address: recv}]}
  - {id: bob, contact_methods: [{id: bob-hook, kind: webhook, address: recv}]}
  - {id: carol, contact_methods: [{id: carol-hook, kind: webhook, address: recv}]}
escalation_policies:
  - id: kill-ladder
    repeat: 1
    repeat_after: 4s
    steps:
      - {after: 0s, notify: [{user: alice}]}
      - {after: 4s, notify: [{user: bob}]}
      - {after: 8s, notify: [{user: carol}]}
"""


class TimedReceiver(WebhookReceiver):
    """The signed-webhook receiver, noting when each page for each person arrived."""

    def __init__(self) -> None:
        super().__init__(secret=SECRET)
        self.arrivals: list[tuple[float, str, str]] = []  # (unix time, user, idempotency key)

    async def _hook(self, request: web.Request) -> web.Response:
        response = await super()._hook(request)
        key = request.headers.get("Idempotency-Key", "")
        payload = self.accepted.get(key, {})
        self.arrivals.append((time.time(), payload.get("target", {}).get("user_id", ""), key))
        return response

    def pages_to(self, user: str) -> list[tuple[float, str]]:
        """The first arrival of each distinct page (idempotency key) for `user`.

        A SIGKILL between the receiver's 200 and the worker recording it makes the retried
        activity send again with the SAME key: at-least-once, which the key lets a webhook
        consumer absorb. A second key would be a second page, and that is what we count.
        """
        first: dict[str, float] = {}
        for at, who, key in self.arrivals:
            if who == user:
                first.setdefault(key, at)
        return sorted((at, key) for key, at in first.items())

    def waiting_for(self, user: str):
        """An async check for `eventually`: the pages `user` received so far."""
        async def check() -> list[tuple[float, str]]:
            return self.pages_to(user)
        return check


@pytest.fixture
async def receiver():
    async with TimedReceiver() as server:
        yield server


async def test_pages_survive_a_sigkilled_worker_and_an_ack_during_the_outage_is_honoured(
        receiver, tmp_path: Path):
    config = tmp_path / "lim.yaml"
    config.write_text(CONFIG)
    env = {"LIM_NOTIFY__ENABLED_CHANNELS": '["webhook"]', "LIM_COMMAND_WAIT_SECONDS": "2",
           "LIM_NOTIFY__WEBHOOK__ENDPOINTS":
               f'{{"recv": {{"url": "{receiver.url}/hook", "secret": "{SECRET}"}}}}'}
    with running_stack("sqlite", f"sqlite:///{tmp_path}/lim.db", tmp_path, extra_env=env,
                       config_file=config) as stack:
        service = unique("esc-kill")
        async with stack.http() as http:
            await post_alertmanager(http, am_alert("ModelLatency", service, severity="high"))
            alice = await eventually(receiver.waiting_for("alice"), timeout=60)
            t0 = alice[0][0]

            # Outage 1: the worker dies while bob's timer is pending.
            stack.kill_worker(signal.SIGKILL)
            killed_at = time.time()
            stack.start_worker(wait=False)
            bob = await eventually(receiver.waiting_for("bob"), timeout=60)
            late_1 = bob[0][0] - (t0 + STEP_S)

            # Outage 2: ack while no worker runs; carol falls due during the outage. No worker
            # answers the update within the API's wait, so it is queued durably: 202 at once.
            stack.kill_worker(signal.SIGKILL)
            ref = (await incidents_of(http, service))[0]["id"]
            answer = await http.post(f"/api/v1/incidents/{ref}/acknowledge",
                                     json={"note": "on it"},
                                     headers={"idempotency-key": f"ack-{service}"})
            assert answer.status_code == 202 and answer.json()["queued"], answer.text
            while time.time() < t0 + 2 * STEP_S + 1:  # real time must pass: carol is now due
                await asyncio.sleep(0.2)
            restarted_at = time.time()
            stack.start_worker(wait=False)

            async def acknowledged():
                return (await incident(http, ref))["status"] == "acknowledged"

            await eventually(acknowledged, timeout=60)
            ack_after_restart = time.time() - restarted_at
            again = await http.post(f"/api/v1/incidents/{ref}/acknowledge",
                                    json={"note": "on it"},
                                    headers={"idempotency-key": f"ack-{service}"})
            # Same id: Temporal answers with the first outcome; either way it acted once.
            assert again.status_code == 200 and again.json()["status"] == "acknowledged", again.text
            kinds = [e["kind"] for e in (await incident(http, ref))["timeline"]]
            assert kinds.count("acknowledged") == 1, kinds

    assert receiver.pages_to("carol") == []
    assert len(receiver.pages_to("alice")) == 1 and len(bob) == 1 == len(receiver.pages_to("bob"))
    assert receiver.bad_signatures == 0
    print(f"\n{receiver.duplicates} resend(s) with an already-delivered key (a kill landed "
          f"between the receiver's answer and the ledger write)")
    print(f"bob's page, due {STEP_S:.0f}s after alice's, arrived {late_1:.2f}s late "
          f"(worker killed {killed_at - t0:.2f}s after alice's page); the ack queued during the "
          f"second outage applied {ack_after_restart:.2f}s after the worker restarted")
