"""Alert → first notification latency on the real stack, with Slack healthy and with Slack down.

    .venv/bin/python bench/notify.py [--rate 2] [--count 40] [--seed 1]

Starts its own stack on free loopback ports (Temporal dev server, worker, API, SQLite under a
temporary directory, exactly what `lim up` runs), with the Slack channel pointed at a local
server that speaks Slack's Web API and a signed-webhook receiver as the fallback. The applied
configuration pages one responder at T+0 through Slack, falling back to the webhook.

Phase 1 (healthy): `--count` alerts, each opening a new incident, at a steady `--rate`; the
latency is the time from sending the alert to the page arriving at the local Slack server.
Phase 2 (Slack answers 500): the same, measured to the page arriving at the webhook receiver.
The first pages of phase 2 pay Slack's retries until the circuit breaker opens (after
`breaker_failure_threshold` failures); later pages skip Slack at once.

Prints p50/p90/p99/max per phase, pages missing, and duplicates. Loopback only, bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.stack import running_stack
from tests.vendors.slack import SlackServer
from tests.vendors.webhook import WebhookReceiver

SECRET = "whsec-bench"
WAIT_FOR_PAGE_S = 90.0
CONFIG = """
default_escalation_policy: bench
users:
  - id: oncall
    contact_methods:
      - {id: oncall-slack, kind: slack, address: U0ONCALL}
      - {id: oncall-hook, kind: webhook, address: recv}
    notification_rules:
      - {method: oncall-slack, after: 0s}
escalation_policies:
  - id: bench
    repeat: 1
    steps:
      - {after: 0s, notify: [{user: oncall}]}
"""


class StampedSlack(SlackServer):
    """The local Slack server, noting when each message arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: list[tuple[float, str]] = []

    def _post(self, params: dict) -> dict:
        answer = super()._post(params)
        if answer.get("ok"):
            self.arrivals.append((time.time(), json.dumps(params)))
        return answer


class StampedReceiver(WebhookReceiver):
    def __init__(self) -> None:
        super().__init__(secret=SECRET)
        self.arrivals: list[tuple[float, str]] = []

    async def _hook(self, request: web.Request) -> web.Response:
        response = await super()._hook(request)
        if response.status == 200:
            self.arrivals.append((time.time(), (await request.read()).decode()))
        return response


async def run_phase(http, name: str, count: int, rate: float, arrivals, seed: int) -> dict:
    """Send `count` new-incident alerts at `rate`/s; wait for each page in `arrivals`."""
    rng = random.Random(seed)
    sent: dict[str, float] = {}
    start = time.time()
    for i in range(count):
        await asyncio.sleep(max(0.0, start + i / rate - time.time()))
        title = f"Bench{name}{i}x{rng.randrange(10**6)}"
        sent[title] = time.time()
        response = await http.post("/api/v1/alerts", json={
            "title": title, "service": f"svc-{name}-{i}", "env": "bench", "severity": "high"})
        response.raise_for_status()
    deadline = time.time() + WAIT_FOR_PAGE_S
    latencies: dict[str, float] = {}
    while len(latencies) < count and time.time() < deadline:
        for at, text in list(arrivals):
            for title, t0 in sent.items():
                if title not in latencies and title in text:
                    latencies[title] = at - t0
        await asyncio.sleep(0.2)
    return {"sent": count, "paged": len(latencies), "latencies": sorted(latencies.values())}


def describe(name: str, result: dict) -> str:
    lat = result["latencies"]
    if not lat:
        return f"{name:<22} no page arrived ({result['sent']} alerts sent)"

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000

    return (f"{name:<22} n={result['paged']}/{result['sent']}  p50 {statistics.median(lat) * 1000:7.0f} ms"
            f"  p90 {pct(0.9):7.0f} ms  p99 {pct(0.99):7.0f} ms  max {lat[-1] * 1000:7.0f} ms")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=2.0, help="alerts (new incidents) per second")
    parser.add_argument("--count", type=int, default=40, help="alerts per phase")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="lim-bench-notify-"))
    (root / "lim.yaml").write_text(CONFIG)
    async with StampedSlack() as slack, StampedReceiver() as hook:
        env = {"LIM_NOTIFY__ENABLED_CHANNELS": '["slack", "webhook"]',
               "LIM_NOTIFY__SLACK__BASE_URL": f"{slack.url}/api/",
               "LIM_NOTIFY__SLACK__BOT_TOKEN": slack.token,
               "LIM_NOTIFY__WEBHOOK__ENDPOINTS":
                   json.dumps({"recv": {"url": f"{hook.url}/hook", "secret": SECRET}})}
        with running_stack("sqlite", f"sqlite:///{root}/lim.db", root, extra_env=env,
                           config_file=root / "lim.yaml") as stack:
            async with stack.http() as http:
                healthy = await run_phase(http, "healthy", args.count, args.rate, slack.arrivals,
                                          args.seed)
                slack.fail(500)
                failing = await run_phase(http, "slackdown", args.count, args.rate, hook.arrivals,
                                          args.seed + 1)
    print(f"stack: dev server + worker + API on loopback, SQLite; {args.count} new incidents per "
          f"phase at {args.rate}/s")
    print(describe("slack healthy → slack", healthy))
    print(describe("slack 500 → webhook", failing))
    print(f"duplicates at the webhook receiver: {hook.duplicates}; bad signatures: {hook.bad_signatures}")


if __name__ == "__main__":
    asyncio.run(main())
