"""A seeded, Alertmanager-shaped alert storm shared by the benchmarks.

What real storms look like, and what this reproduces (all proportions are parameters):

* **many identities**: a pool of label sets (service × alert rule × instance × env);
* **heavy repeats**: Alertmanager re-sends every firing alert of a group on each
  `group_interval`, so most alerts in a storm are exact repeats (same labels, same `startsAt`);
* **cascades**: a root failure fires alerts on several dependent services at once;
* **resolves**: firing alerts resolve (with `endsAt`), and some fire again later (flaps).

Same seed, same sequence of alerts (timestamps come from the `now` the caller passes, so a
benchmark can use the wall clock and a test a fixed instant).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

import orjson

SERVICES = [
    "checkout", "cart", "payments", "search", "catalog", "auth", "gateway", "orders", "inventory",
    "shipping", "email", "recommendations", "vllm-gateway", "embedder", "reranker", "chat-api",
    "feature-store", "trainer", "billing-db", "queue",
]
RULES = [
    ("HighErrorRate", "critical", "5xx ratio above 5% for 5m"),
    ("LatencyP99High", "warning", "p99 latency above 2s for 10m"),
    ("KubePodCrashLooping", "warning", "Pod is crash looping."),
    ("KubePodOOMKilled", "critical", "Container was OOMKilled."),
    ("LLMTokensPerSecondHigh", "warning", "Token throughput above budget"),
    ("GPUMemoryPressure", "critical", "GPU memory above 95%"),
    ("HallucinationRateHigh", "critical", "Grounded-answer rate below 90%"),
    ("EmbeddingDriftDetected", "warning", "Embedding distribution drifted"),
    ("OpenAIRateLimited", "critical", "Upstream answered 429 for 2m"),
    ("DiskAlmostFull", "warning", "Disk above 90%"),
]
# Which services go down with which: a cascade fires the root and its dependents together.
DEPENDENTS = {
    "billing-db": ["payments", "checkout", "orders"],
    "auth": ["gateway", "checkout", "cart", "chat-api"],
    "vllm-gateway": ["chat-api", "reranker", "recommendations"],
    "queue": ["orders", "shipping", "email"],
}


@dataclass
class StormShape:
    """Proportions of a storm; defaults resemble a bad hour behind Alertmanager."""

    identities: int = 5000
    repeat: float = 0.80  # share of alerts that re-send something already firing
    resolve: float = 0.05  # share that resolve something firing
    cascade: float = 0.02  # chance per batch of a cascade (root + dependents fire together)


@dataclass
class Storm:
    """Deterministic generator of Alertmanager webhook v4 bodies."""

    seed: int = 1
    shape: StormShape = field(default_factory=StormShape)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._firing: dict[int, str] = {}  # identity index → startsAt
        self._firing_list: list[int] = []

    def batch(self, size: int, now: datetime) -> list[dict]:
        """`size` alerts in Alertmanager's per-alert shape, at time `now`."""
        stamp = now.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        alerts: list[dict] = []
        if self._random.random() < self.shape.cascade:
            alerts.extend(self._cascade(stamp))
        while len(alerts) < size:
            alerts.append(self._one(stamp))
        return alerts[:size]

    def webhook(self, size: int, now: datetime) -> bytes:
        """One webhook body with `size` alerts, exactly as Alertmanager frames them."""
        return webhook_body(self.batch(size, now))

    def _one(self, stamp: str) -> dict:
        roll = self._random.random()
        if self._firing_list and roll < self.shape.repeat:
            index = self._random.choice(self._firing_list)
            return self._alert(index, "firing", self._firing[index], stamp)
        if self._firing_list and roll < self.shape.repeat + self.shape.resolve:
            index = self._random.choice(self._firing_list)
            return self._resolve(index, stamp)
        return self._fire(self._random.randrange(self.shape.identities), stamp)

    def _fire(self, index: int, stamp: str) -> dict:
        if index not in self._firing:
            self._firing[index] = stamp
            self._firing_list.append(index)
        return self._alert(index, "firing", self._firing[index], stamp)

    def _resolve(self, index: int, stamp: str) -> dict:
        starts = self._firing.pop(index)
        self._firing_list.remove(index)
        return self._alert(index, "resolved", starts, stamp)

    def _cascade(self, stamp: str) -> list[dict]:
        root = self._random.choice(sorted(DEPENDENTS))
        affected = [root, *DEPENDENTS[root]]
        rule = self._random.randrange(len(RULES))
        return [self._fire(self._identity_for(service, rule), stamp) for service in affected]

    def _identity_for(self, service: str, rule: int) -> int:
        """An identity index whose labels have this service and rule (instance 0, prod)."""
        return (SERVICES.index(service) * len(RULES) + rule) % self.shape.identities

    def _alert(self, index: int, status: str, starts: str, stamp: str) -> dict:
        return {
            "status": status,
            "labels": identity_labels(index),
            "annotations": annotations_for(index),
            "startsAt": starts,
            "endsAt": stamp if status == "resolved" else "0001-01-01T00:00:00Z",
            "generatorURL": f"http://prometheus:9090/graph?g0.expr=rule{index % len(RULES)}",
            "fingerprint": alertmanager_fingerprint(index),
        }


# Memoised: the driver shares the machine with the server it measures, so generating the storm
# must cost as little CPU as possible. The dicts are only ever serialised, never mutated.
@lru_cache(maxsize=65536)
def identity_labels(index: int) -> dict[str, str]:
    """The label set of identity `index`: deterministic, distinct for distinct indexes."""
    service = SERVICES[(index // len(RULES)) % len(SERVICES)]
    alertname, severity, _ = RULES[index % len(RULES)]
    instance = index // (len(RULES) * len(SERVICES))
    return {
        "alertname": alertname,
        "service": service,
        "env": "prod" if instance % 4 else "staging",
        "instance": f"10.{instance // 256 % 256}.{instance % 256}.7:9100",
        "severity": severity,
        "team": f"team-{SERVICES.index(service) % 5}",
    }


@lru_cache(maxsize=65536)
def annotations_for(index: int) -> dict[str, str]:
    _, _, summary = RULES[index % len(RULES)]
    return {
        "summary": summary,
        "description": f"{summary} on instance {index}; see runbook. Owner: oncall@example.com",
        "runbook_url": f"https://runbooks.example.com/{RULES[index % len(RULES)][0]}",
    }


@lru_cache(maxsize=65536)
def alertmanager_fingerprint(index: int) -> str:
    """A stand-in for Alertmanager's own label hash: 16 hex digits, stable per identity."""
    return hashlib.blake2b(str(index).encode(), digest_size=8).hexdigest()


def webhook_body(alerts: list[dict]) -> bytes:
    """Frame alerts as Alertmanager's webhook v4 does (receiver, group, common labels...)."""
    status = "firing" if any(a["status"] == "firing" for a in alerts) else "resolved"
    return orjson.dumps({
        "receiver": "lim",
        "status": status,
        "alerts": alerts,
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "version": "4",
        "groupKey": "{}:{}",
        "truncatedAlerts": 0,
    })
