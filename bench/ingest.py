"""Drive a running stack over HTTP with a seeded Alertmanager storm, and print what it did.

    .venv/bin/python bench/ingest.py --key <ingest key> [--admin-key <admin key>]
        [--url http://127.0.0.1:8080]
        [--rate 10000] [--duration 30] [--batch 64] [--concurrency 16] [--seed 1]

Open-loop load: batch *i* is due at `start + i * batch / rate`, sent by one of `--concurrency`
workers over keep-alive connections (aiohttp). Every body is built before sending starts, so the
storm's generation does not compete with the server for the CPU. If the server is slower than the rate,
requests queue here and the achieved rate is reported next to the offered one.

Printed figures and how each is obtained:

* **accepted alerts/s**: ids in the 202 bodies (`{"accepted": [...], "rejected": [...]}`)
  divided by the wall time of the sending phase; plus the status codes seen.
* **HTTP latency p50/p99**: send → response, per request; and from the request's *due* time,
  which also counts time spent queued here when the server falls behind (no coordinated
  omission hiding a slow server).
* **incidents opened**: `total` of `GET /api/v1/incidents?limit=1` after minus before (the
  incident list needs an admin-scope key: `--admin-key`).
* **workflow signals per 1,000 alerts**: deltas of `signals_sent` and `alerts_received` from
  `GET /api/v1/stats/ingest` (printed as n/a when the endpoint is missing).
* **alert-to-incident-open latency p50/p99**: for every alert group (alertname, service, env)
  this run *opened* (not seen before the run), the time the first alert of the group was sent is
  recorded. After the drain, the incidents opened since the start are listed and matched to
  their group (service and env fields, alertname in the dedup key or title); the latency is the
  incident's `opened_at` (or `created_at`) minus that send time. Client and server share the
  machine's clock (loopback only), so server timestamps are comparable.
* **zero loss**: every distinct accepted id is looked up with `POST /api/v1/alerts/lookup`
  (`{ids}` → `{found, missing}`), in chunks; missing ids are printed.

Bounded: loopback URLs only; sending stops at `--duration` + `--grace` seconds even when the
server lags (batches still queued then are reported as not sent), requests time out after 30 s,
and waiting for the outbox to empty is capped by `--drain`; it stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

import aiohttp
import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.storm import Storm, StormShape, webhook_body

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
INGEST_PATH = "/api/v1/alerts/alertmanager"


class Job(NamedTuple):
    """One request to send: when it was due, when sending gives up, and what it carries."""

    due: float
    deadline: float
    body: bytes
    groups: list[tuple[str, str, str]]  # (alertname, service, env) of its firing alerts
    alerts: int


@dataclass
class Results:
    """What the sending phase saw."""

    latencies: list[float] = field(default_factory=list)
    queued_latencies: list[float] = field(default_factory=list)  # due time → response
    statuses: dict[int, int] = field(default_factory=dict)
    accepted_ids: set[str] = field(default_factory=set)
    accepted: int = 0
    rejected: int = 0
    sent_alerts: int = 0
    errors: list[str] = field(default_factory=list)
    unsent_alerts: int = 0  # still queued here when the deadline passed
    client_cores: float = 0.0  # CPU this script used while sending, in cores
    # group (alertname, service, env) → wall-clock time its first alert was sent
    first_sent: dict[tuple[str, str, str], float] = field(default_factory=dict)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Seeded alert storm against a running stack.")
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--key", required=True, help="ingest-scope integration key")
    parser.add_argument("--admin-key", default="",
                        help="admin-scope key to read incidents (default: --key)")
    parser.add_argument("--rate", type=float, default=10_000, help="offered alerts per second")
    parser.add_argument("--duration", type=float, default=30, help="seconds of sending")
    parser.add_argument("--batch", type=int, default=64, help="alerts per request")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--identities", type=int, default=5000)
    parser.add_argument("--drain", type=float, default=60, help="max seconds to wait after")
    parser.add_argument("--max-duration", type=float, default=600, help="cap on --duration")
    parser.add_argument("--grace", type=float, default=30,
                        help="extra seconds a lagging server gets before sending stops")
    args = parser.parse_args()
    if urlsplit(args.url).hostname not in LOOPBACK:
        parser.error("--url must be a loopback address (this benchmark never leaves the host)")
    args.duration = min(args.duration, args.max_duration)
    return args


async def main() -> None:
    args = parse_args()
    admin_headers = {"Authorization": f"Bearer {args.admin_key or args.key}"}
    async with make_client(args, connections=2) as client, \
            make_client(args, connections=1, headers=admin_headers) as admin:
        before_stats = await read_stats(client)
        before_total = await incident_total(admin)
        jobs = prepare(args)
        started_wall, started_cpu = time.time(), time.process_time()
        results, elapsed = await send_storm(args, jobs)
        client_cores = (time.process_time() - started_cpu) / elapsed
        drained = await drain(client, args.drain)
        after_stats = await read_stats(client)
        after_total = await incident_total(admin)
        opened = await incidents_since(admin, started_wall)
        missing = await lookup_missing(client, sorted(results.accepted_ids))
    results.client_cores = client_cores
    report(args, results, elapsed, drained, before_stats, after_stats,
           (before_total, after_total), open_latencies(opened, results.first_sent), missing)


def make_client(
    args: argparse.Namespace, connections: int, headers: dict[str, str] | None = None
) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    headers = headers or {"Authorization": f"Bearer {args.key}"}
    # verify=False: loopback plain HTTP only (checked in parse_args); loading the CA bundle for
    # each of the clients would cost ~50 ms of CPU apiece for nothing.
    return httpx.AsyncClient(base_url=args.url, headers=headers, limits=limits, timeout=30,
                             verify=False)


async def send_storm(args: argparse.Namespace, jobs: list[tuple[bytes, list, int]]
                     ) -> tuple[Results, float]:
    """Send `jobs` on schedule; return what was seen and the sending phase's duration."""
    results = Results()
    queue: asyncio.Queue[Job | None] = asyncio.Queue(maxsize=args.concurrency * 2)
    # One session (one keep-alive connection) per worker. aiohttp, not httpx, for the storm
    # itself: this script shares the machine with the server it measures, and httpx cost about
    # 1.3 ms of CPU per request here (a third of a core at 10,000 alerts/s).
    headers = {"Authorization": f"Bearer {args.key}", "Content-Type": "application/json"}
    sessions = [aiohttp.ClientSession(
        base_url=args.url, headers=headers, timeout=aiohttp.ClientTimeout(total=30),
        connector=aiohttp.TCPConnector(limit=1)) for _ in range(args.concurrency)]
    workers = [asyncio.create_task(worker(session, queue, results)) for session in sessions]
    interval = args.batch / args.rate
    started = time.perf_counter()
    deadline = started + args.duration + args.grace
    for index, (body, groups, size) in enumerate(jobs):
        due = started + index * interval
        if (delay := due - time.perf_counter()) > 0:
            await asyncio.sleep(delay)
        if time.perf_counter() > deadline:
            results.unsent_alerts += (len(jobs) - index) * args.batch
            break
        await queue.put(Job(due, deadline, body, groups, size))
    for _ in workers:
        await queue.put(None)
    await asyncio.gather(*workers)
    elapsed = time.perf_counter() - started
    for session in sessions:
        await session.close()
    return results, elapsed


def prepare(args: argparse.Namespace) -> list[tuple[bytes, list, int]]:
    """Every request body of the storm, built before sending starts (so generating the storm
    does not compete with the server for the CPU while it is measured). Alert timestamps are
    those of the batch's due time. Memory: about 30 KB per 64-alert body."""
    storm = Storm(seed=args.seed, shape=StormShape(identities=args.identities))
    interval = args.batch / args.rate
    first = datetime.now(UTC)
    jobs = []
    for index in range(int(args.rate * args.duration / args.batch)):
        alerts = storm.batch(args.batch, first + timedelta(seconds=index * interval))
        groups = [group_of(alert) for alert in alerts if alert["status"] == "firing"]
        jobs.append((webhook_body(alerts), groups, len(alerts)))
    return jobs


async def worker(session: aiohttp.ClientSession, queue: asyncio.Queue, results: Results) -> None:
    while (job := await queue.get()) is not None:
        if time.perf_counter() > job.deadline:
            results.unsent_alerts += job.alerts
            continue
        try:
            await post_batch(session, job, results)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:  # counted; the storm goes on
            # ValueError covers a 202 body that is not the JSON promised (orjson's error).
            results.errors.append(type(exc).__name__)


async def post_batch(session: aiohttp.ClientSession, job: Job, results: Results) -> None:
    now = time.time()
    for group in job.groups:
        results.first_sent.setdefault(group, now)
    began = time.perf_counter()
    async with session.post(INGEST_PATH, data=job.body) as response:
        content = await response.read()
    results.sent_alerts += job.alerts
    answered = time.perf_counter()
    results.latencies.append(answered - began)
    results.queued_latencies.append(answered - job.due)
    results.statuses[response.status] = results.statuses.get(response.status, 0) + 1
    if response.status == 202:
        answer = orjson.loads(content)
        accepted = answer.get("accepted", [])
        results.accepted += len(accepted)
        results.rejected += len(answer.get("rejected", []))
        results.accepted_ids.update(accepted)


def group_of(alert: dict) -> tuple[str, str, str]:
    labels = alert["labels"]
    return labels["alertname"], labels.get("service", ""), labels.get("env", "")


async def get_json(client: httpx.AsyncClient, path: str, params: dict | None = None) -> dict | None:
    """GET and decode, or None when the endpoint is missing or failing (reported as n/a)."""
    try:
        response = await client.get(path, params=params)
    except httpx.HTTPError:
        return None
    return orjson.loads(response.content) if response.status_code == 200 else None


async def read_stats(client: httpx.AsyncClient) -> dict | None:
    return await get_json(client, "/api/v1/stats/ingest")


async def incident_total(client: httpx.AsyncClient) -> int | None:
    page = await get_json(client, "/api/v1/incidents", {"limit": 1})
    return page.get("total") if page else None


async def drain(client: httpx.AsyncClient, limit: float) -> float | None:
    """Wait until the outbox is empty (stats `outbox_pending` == 0); seconds waited, or None."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        stats = await read_stats(client)
        if stats is None or "outbox_pending" not in stats:
            return None
        if stats["outbox_pending"] == 0:
            return time.perf_counter() - started
        await asyncio.sleep(0.25)
    return None


async def incidents_since(client: httpx.AsyncClient, since: float) -> list[dict]:
    """Incidents opened at or after `since` (wall clock), paging through the list endpoint."""
    found: list[dict] = []
    offset = 0
    while offset < 100_000:
        params = {"limit": 500, "offset": offset,
                  "since": datetime.fromtimestamp(since, UTC).isoformat()}
        page = await get_json(client, "/api/v1/incidents", params)
        items = (page or {}).get("items", [])
        found += [item for item in items if (opened_at(item) or 0) >= since]
        if len(items) < 500:
            return found
        offset += 500
    return found


def opened_at(item: dict) -> float | None:
    stamp = item.get("opened_at") or item.get("created_at")
    if not stamp:
        return None
    moment = datetime.fromisoformat(stamp)  # Python 3.11 reads a trailing Z
    # A naive timestamp from the API is UTC (that is how the product stores times).
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def open_latencies(incidents: list[dict], first_sent: dict[tuple[str, str, str], float]
                   ) -> list[float]:
    """Per opened incident, its open time minus the send time of its group's first alert."""
    by_place: dict[tuple[str, str], list[tuple[str, float]]] = {}
    for (alertname, service, env), sent in first_sent.items():
        by_place.setdefault((service, env), []).append((alertname, sent))
    latencies = []
    for item in incidents:
        text = f"{item.get('dedup_key', '')} {item.get('title', '')}"
        for alertname, sent in by_place.get((item.get("service", ""), item.get("env", "")), []):
            if alertname in text and (opened := opened_at(item)) is not None:
                latencies.append(max(0.0, opened - sent))
                break
    return latencies


async def lookup_missing(client: httpx.AsyncClient, ids: list[str]) -> list[str] | None:
    """Accepted ids the database does not have; None when the lookup endpoint is missing."""
    missing: list[str] = []
    for start in range(0, len(ids), 1000):
        try:
            response = await client.post("/api/v1/alerts/lookup",
                                         json={"ids": ids[start:start + 1000]})
        except httpx.HTTPError:
            return None
        if response.status_code != 200:
            return None
        missing += orjson.loads(response.content).get("missing", [])
    return missing


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def report(args, results: Results, elapsed: float, drained: float | None, before: dict | None,
           after: dict | None, totals: tuple[int | None, int | None], open_lat: list[float],
           missing: list[str] | None) -> None:
    ms = [value * 1000 for value in results.latencies]
    print(f"storm: seed {args.seed}, {args.identities} identities, batches of {args.batch}, "
          f"{args.concurrency} in flight, offered {args.rate:,.0f} alerts/s for {args.duration}s")
    print(f"sent            {results.sent_alerts:,} alerts in {elapsed:.1f}s "
          f"({results.sent_alerts / elapsed:,.0f}/s achieved; this client used "
          f"{results.client_cores:.2f} cores)")
    print(f"accepted        {results.accepted / elapsed:,.0f} alerts/s "
          f"({results.accepted:,} accepted, {results.rejected:,} rejected, "
          f"{len(results.accepted_ids):,} distinct ids)")
    print(f"HTTP statuses   {dict(sorted(results.statuses.items()))}"
          + (f", failed requests {Counter(results.errors)}" if results.errors else ""))
    if results.unsent_alerts:
        print(f"NOT SENT        {results.unsent_alerts:,} alerts: the server fell behind by more "
              f"than --grace {args.grace:.0f}s")
    print(f"HTTP latency    p50 {percentile(ms, 0.50):.1f} ms, p99 {percentile(ms, 0.99):.1f} ms")
    queued = [value * 1000 for value in results.queued_latencies]
    print(f"  from due time p50 {percentile(queued, 0.50):.1f} ms, p99 "
          f"{percentile(queued, 0.99):.1f} ms (includes waiting here when the server lags)")
    opened = (totals[1] - totals[0]) if None not in totals else None
    print(f"incidents       {'n/a' if opened is None else opened} opened")
    print(f"signals         {signals_per_thousand(before, after)} per 1,000 alerts")
    print(f"outbox drained  {'n/a' if drained is None else f'{drained:.1f}s after sending'}")
    open_ms = [value * 1000 for value in open_lat]
    print(f"alert→incident  p50 {percentile(open_ms, 0.5):.0f} ms, p99 "
          f"{percentile(open_ms, 0.99):.0f} ms over {len(open_ms)} new groups")
    if missing is None:
        print("stored          n/a (POST /api/v1/alerts/lookup not available)")
    else:
        verdict = "zero loss" if not missing else f"LOST {len(missing)}: {missing[:5]}"
        print(f"stored          {len(results.accepted_ids) - len(missing):,}/"
              f"{len(results.accepted_ids):,} accepted ids found: {verdict}")


def signals_per_thousand(before: dict | None, after: dict | None) -> str:
    if not before or not after:
        return "n/a"
    received = after.get("alerts_received", 0) - before.get("alerts_received", 0)
    signals = after.get("signals_sent", 0) - before.get("signals_sent", 0)
    return f"{1000 * signals / received:.1f}" if received else "n/a"


if __name__ == "__main__":
    asyncio.run(main())
