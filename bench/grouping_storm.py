"""Seeded generator of realistic alert storms with the truth of which alerts are one problem.

    .venv/bin/python bench/grouping_storm.py --seed 7 --out /tmp/storm.jsonl
    .venv/bin/lim eval grouping /tmp/storm.jsonl      # or activities.llm.grouping_eval

First line: {"type": "graph", "depends_on": {...}}. Then one line per raw alert occurrence:
{"type": "alert", "at", "status", "labels", "title", "description", "truth"}.

Scenarios (each becomes one truth group):
* cascade    - a root fails, dependants fire minutes later from several replicas
* flap       - one alert fires, resolves and fires again within minutes
* replicas   - one alert from many instances
* lookalike  - the same alert on the same service in two clusters at once (two groups)
* recurrence - a problem that resolves and comes back hours later (two groups)
* rephrased  - one failure reported by two tools under different names (one group)
* noise      - unrelated one-off alerts
Repeats: Alertmanager re-sends firing alerts; every firing alert repeats each 1-3 minutes.
"""

from __future__ import annotations

import argparse
import json
import random
from datetime import UTC, datetime, timedelta

GRAPH = {
    "web": ["checkout", "search", "auth"],
    "checkout": ["payments", "orders-db", "cart-redis"],
    "payments": ["payments-db", "stripe-gw"],
    "search": ["search-index"],
    "orders": ["orders-db", "kafka"],
    "notifications": ["kafka"],
    "chat": ["llm-gateway", "vector-db"],
    "llm-gateway": ["vllm"],
}
ROOT_ALERTS = {
    "payments-db": ("PostgresqlTooManyConnections", "payments-db connection slots exhausted"),
    "orders-db": ("PostgresqlReplicationLag", "orders-db replica is minutes behind primary"),
    "cart-redis": ("RedisOutOfMemory", "cart-redis used memory reached maxmemory"),
    "kafka": ("KafkaBrokerDown", "kafka broker left the cluster, partitions offline"),
    "search-index": ("ElasticsearchClusterRed", "search-index primary shards unassigned"),
    "vllm": ("GPUMemoryNearlyFull", "vllm GPU memory 79/80 GiB, requests queueing"),
}
SYMPTOMS = [
    ("HighErrorRate", "{s} returns 5xx for {p}% of requests"),
    ("HighRequestLatency", "{s} p99 latency {p}00ms above SLO"),
    ("SLOErrorBudgetBurnFast", "{s} burning its error budget {p}x"),
]
NOISE = [
    ("HostClockSkew", "clock skew on {s} host"),
    ("KubeJobFailed", "nightly job of {s} failed"),
    ("SSLCertificateExpiringSoon", "certificate for {s} expires in 20 days"),
    ("HostHighCpuLoad", "{s} host CPU above 90%"),
    ("KubePodCrashLooping", "{s} pod restarting repeatedly"),
    ("DiskWillFillIn24Hours", "{s} volume predicted to fill within a day"),
]


class Storm:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.rows: list[dict] = []
        self.groups = 0
        self.t0 = datetime(2024, 6, 1, 0, 0, tzinfo=UTC)

    def group(self) -> str:
        self.groups += 1
        return f"g{self.groups}"

    def fire(self, start, minutes, name, service, text, truth, *, cluster="eu-1", replicas=1):
        """One alert identity per replica, repeating while it lasts, then resolving."""
        for r in range(replicas):
            labels = {
                "alertname": name,
                "service": service,
                "env": "prod",
                "cluster": cluster,
                "instance": f"{service}-{r}:9100",
                "severity": "critical",
            }
            at, end = start + timedelta(seconds=self.rng.randint(0, 50)), start + minutes
            while at < end:
                self._row(at, "firing", labels, text, truth)
                at += timedelta(seconds=self.rng.randint(60, 180))
            self._row(end, "resolved", labels, text, truth)

    def _row(self, at, status, labels, text, truth):
        self.rows.append(
            {
                "type": "alert",
                "at": at.isoformat(),
                "status": status,
                "labels": dict(labels),
                "title": labels["alertname"],
                "description": text,
                "truth": truth,
            }
        )

    def cascade(self, start):
        root = self.rng.choice(sorted(ROOT_ALERTS))
        truth, (name, text) = self.group(), ROOT_ALERTS[root]
        length = timedelta(minutes=self.rng.randint(15, 40))
        self.fire(start, length, name, root, text, truth, replicas=self.rng.randint(1, 3))
        dependants = [s for s, deps in GRAPH.items() if root in deps]
        dependants += [s for s, deps in GRAPH.items() if set(deps) & set(dependants)]
        for i, svc in enumerate(dict.fromkeys(dependants)):
            sym, stext = self.rng.choice(SYMPTOMS)
            text = stext.format(s=svc, p=self.rng.randint(3, 30))
            delay = timedelta(minutes=1 + i + self.rng.randint(0, 3))
            self.fire(
                start + delay,
                length - delay,
                sym,
                svc,
                text,
                truth,
                replicas=self.rng.randint(2, 6),
            )

    def flap(self, start):
        truth, svc = self.group(), self.rng.choice(sorted(GRAPH))
        for k in range(self.rng.randint(2, 4)):
            self.fire(
                start + timedelta(minutes=6 * k),
                timedelta(minutes=3),
                "HighRequestLatency",
                svc,
                f"{svc} p99 latency flapping around the SLO",
                truth,
            )

    def lookalike(self, start):
        svc = self.rng.choice(["search", "checkout", "chat"])
        for cluster in ("eu-1", "us-1"):
            self.fire(
                start,
                timedelta(minutes=20),
                "HighErrorRate",
                svc,
                f"{svc} returns 5xx for 9% of requests",
                self.group(),
                cluster=cluster,
                replicas=3,
            )

    def recurrence(self, start):
        svc = self.rng.choice(sorted(GRAPH))
        for hours in (0, self.rng.randint(3, 6)):
            self.fire(
                start + timedelta(hours=hours),
                timedelta(minutes=15),
                "HighErrorRate",
                svc,
                f"{svc} returns 5xx for 12% of requests",
                self.group(),
                replicas=2,
            )

    def rephrased(self, start):
        truth, svc = self.group(), self.rng.choice(["orders", "notifications", "web"])
        self.fire(
            start,
            timedelta(minutes=25),
            "HighErrorRate",
            svc,
            f"{svc} 5xx error rate is 14% of requests",
            truth,
            replicas=2,
        )
        self.fire(
            start + timedelta(minutes=2),
            timedelta(minutes=20),
            f"{svc} 5xx errors",
            svc,
            f"{svc} requests failing with 5xx errors, error rate 14%",
            truth,
        )

    def noise(self, start):
        name, text = self.rng.choice(NOISE)
        svc = self.rng.choice(sorted(set(GRAPH) | {"billing", "reports", "auth"}))
        self.fire(
            start,
            timedelta(minutes=self.rng.randint(5, 30)),
            name,
            svc,
            text.format(s=svc),
            self.group(),
        )

    def build(self, scenarios: int) -> list[dict]:
        kinds = [
            self.cascade,
            self.cascade,
            self.flap,
            self.lookalike,
            self.recurrence,
            self.rephrased,
            self.noise,
            self.noise,
        ]
        for i in range(scenarios):
            # Scenarios start 45-75 minutes apart so only the intended overlaps happen.
            start = self.t0 + timedelta(minutes=60 * i + self.rng.randint(-15, 15))
            kinds[i % len(kinds)](start)
        self.rows.sort(key=lambda r: (r["at"], r["labels"]["instance"], r["status"]))
        return [{"type": "graph", "depends_on": GRAPH}, *self.rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scenarios", type=int, default=48)
    parser.add_argument("--out", default="storm.jsonl")
    args = parser.parse_args()
    rows = Storm(args.seed).build(args.scenarios)
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in rows)
    print(f"wrote {len(rows) - 1} alert rows to {args.out}")


if __name__ == "__main__":
    main()
