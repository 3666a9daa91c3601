"""Grouping beyond the dedup key: near-duplicates by text, cascades by the dependency graph.

Pure decisions, sandbox-safe. Given a new alert that matched no open incident by dedup key,
`correlate` decides MERGE (same problem reported differently), LINK (a symptom of an open root
incident upstream: it becomes its own incident but does not page), ADOPT (the new alert is
upstream of open incidents: those are its symptoms) or NEW, and always says why.

Text similarity is TF-IDF cosine over words, written in plain Python on purpose: this module runs
inside the Temporal workflow sandbox, where numpy/scikit-learn (C extensions, heavy import,
global state) are unwelcome, and the corpus is tiny (one alert against the open incidents), so
a dict-based implementation is both fast and obviously deterministic.

Thresholds (measured with `bench/grouping_storm.py` + `lim eval grouping`):
* `MERGE_THRESHOLD` 0.55: below it, look-alikes such as "high latency on search" vs
  "high latency on checkout" stay apart; above it, rephrasings of one failure merge.
* A merge also needs the same service (or one side without a service) and no conflicting
  scope label (`grouping.SCOPE_LABELS`: env, cluster, region): identical text in two clusters
  is two incidents, exactly as the dedup key already keeps them apart.
* Only incidents with an alert in the last `window` are candidates: a recurrence hours later is
  a new incident.
* Cascades follow `depends_on` up to `MAX_HOPS` hops within the same window and scope.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import Field

from workflows.domain.base import Frozen
from workflows.domain.grouping import SCOPE_LABELS

MERGE_THRESHOLD = 0.55
MAX_HOPS = 3
DEFAULT_WINDOW = timedelta(minutes=30)

_STOP_WORDS = (
    "a an the of on in at to for is are be been was were has have and or not no with by from "
    "this that it its than more less over under into per as alert alerts firing"
)
_STOP = frozenset(_STOP_WORDS.split(" "))
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def words(text: str) -> list[str]:
    """Lower-case word tokens: CamelCase and snake_case split, numbers and stop words dropped."""
    spaced = _CAMEL.sub(" ", text)
    tokens = re.split(r"[^a-z0-9]+", spaced.lower())
    return [t for t in tokens if len(t) > 1 and not t.isdigit() and t not in _STOP]


class OpenIncident(Frozen):
    """What correlation needs to know about an open incident."""

    incident_id: str
    title: str
    description: str = ""
    service: str = ""
    scope: dict[str, str] = Field(default_factory=dict)
    opened_at: datetime
    last_alert_at: datetime


class NewAlert(Frozen):
    alert_id: str
    title: str
    description: str = ""
    service: str = ""
    scope: dict[str, str] = Field(default_factory=dict)
    at: datetime


class CorrelationKind(StrEnum):
    NEW = "new"
    MERGE = "merge"  # attach to the incident: same problem
    LINK = "link"  # new incident, symptom of `incident_id` (the root): does not page
    ADOPT = "adopt"  # new incident is the root of `symptoms`: they stop paging


class CorrelationDecision(Frozen):
    """What to do with the alert, and why (shown in the timeline)."""

    kind: CorrelationKind
    incident_id: str = ""
    symptoms: list[str] = Field(default_factory=list)
    rule: str = ""
    score: float = 0.0
    reason: str = ""

    @property
    def pages(self) -> bool:
        """Whether the resulting incident pages on its own (a symptom never does)."""
        return self.kind is not CorrelationKind.LINK


def cosine_similarities(query: str, documents: list[str]) -> list[float]:
    """TF-IDF cosine of `query` against each document; IDF is fitted on query + documents
    (smoothed like scikit-learn: ln((1+n)/(1+df)) + 1), term frequency is sublinear."""
    bags = [Counter(words(d)) for d in [query, *documents]]
    n = len(bags)
    df = Counter(term for bag in bags for term in bag)
    idf = {t: math.log((1 + n) / (1 + c)) + 1 for t, c in df.items()}
    vectors = [{t: (1 + math.log(c)) * idf[t] for t, c in bag.items()} for bag in bags]
    q = vectors[0]
    q_norm = math.sqrt(sum(v * v for v in q.values())) or 1.0
    out = []
    for vec in vectors[1:]:
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        out.append(round(sum(q[t] * vec[t] for t in q.keys() & vec.keys()) / (q_norm * norm), 4))
    return out


def scope_conflict(a: dict[str, str], b: dict[str, str]) -> str:
    """The first scope label both sides set to different values, or ''."""
    for key in SCOPE_LABELS:
        if a.get(key) and b.get(key) and a[key] != b[key]:
            return key
    return ""


def upstream_distance(graph: dict[str, list[str]], symptom: str, root: str) -> int | None:
    """Hops from `symptom` to `root` following `depends_on` edges (BFS), None if unreachable
    within `MAX_HOPS`."""
    frontier, seen = [symptom], {symptom}
    for hop in range(1, MAX_HOPS + 1):
        nxt = []
        for service in frontier:
            for dep in graph.get(service, []):
                if dep == root:
                    return hop
                if dep not in seen:
                    seen.add(dep)
                    nxt.append(dep)
        frontier = nxt
    return None


def _candidates(alert: NewAlert, incidents: list[OpenIncident], window: timedelta):
    return [
        i
        for i in incidents
        if alert.at - i.last_alert_at <= window and not scope_conflict(alert.scope, i.scope)
    ]


def _near_duplicate(alert: NewAlert, candidates: list[OpenIncident]) -> CorrelationDecision | None:
    same_service = [
        i for i in candidates if not alert.service or not i.service or i.service == alert.service
    ]
    if not same_service:
        return None
    query = f"{alert.title} {alert.description}"
    scores = cosine_similarities(query, [f"{i.title} {i.description}" for i in same_service])
    best_score, best = max(zip(scores, same_service, strict=True), key=lambda p: p[0])
    if best_score < MERGE_THRESHOLD:
        return None
    return CorrelationDecision(
        kind=CorrelationKind.MERGE,
        incident_id=best.incident_id,
        rule="near_duplicate",
        score=best_score,
        reason=f"alert {alert.alert_id} '{alert.title}' reads like incident {best.incident_id} "
        f"'{best.title}' (tf-idf cosine {best_score:.2f} ≥ {MERGE_THRESHOLD})",
    )


def _cascade(
    alert: NewAlert, candidates: list[OpenIncident], graph: dict[str, list[str]]
) -> CorrelationDecision | None:
    roots = []
    for inc in candidates:
        hops = upstream_distance(graph, alert.service, inc.service) if inc.service else None
        if hops is not None and alert.service:
            roots.append((hops, inc.opened_at, inc))
    if roots:
        hops, _, root = min(roots, key=lambda r: (-r[0], r[1]))  # the most upstream root
        return CorrelationDecision(
            kind=CorrelationKind.LINK,
            incident_id=root.incident_id,
            rule="cascade",
            score=round(1 / hops, 4),
            reason=f"{alert.service} depends on {root.service} ({hops} hop(s)); alert "
            f"{alert.alert_id} is a symptom of incident {root.incident_id} '{root.title}'",
        )
    adopted = sorted(
        (hops, i.incident_id, i.service)
        for i in candidates
        if i.service and alert.service
        and (hops := upstream_distance(graph, i.service, alert.service)) is not None
    )
    if not adopted:
        return None
    which = ", ".join(f"{iid} ({svc}, {hops} hop(s))" for hops, iid, svc in adopted)
    return CorrelationDecision(
        kind=CorrelationKind.ADOPT,
        symptoms=sorted(iid for _, iid, _ in adopted),
        rule="cascade",
        score=round(1 / adopted[0][0], 4),  # like LINK: 1/hops of the nearest symptom
        reason=f"{alert.service} is upstream of open incidents {which}: alert "
        f"{alert.alert_id} '{alert.title}' is their likely root; they stop paging on their own",
    )


def correlate(
    alert: NewAlert,
    open_incidents: list[OpenIncident],
    graph: dict[str, list[str]],
    window: timedelta = DEFAULT_WINDOW,
) -> CorrelationDecision:
    """Decide how a new alert (no dedup-key match) relates to the open incidents.

    Near-duplicate merge wins over cascade (same service beats a neighbour); every decision
    carries the rule, score and the alert and incident it concerns.
    """
    candidates = _candidates(alert, open_incidents, window)
    decision = _near_duplicate(alert, candidates) or _cascade(alert, candidates, graph)
    if decision is not None:
        return decision
    return CorrelationDecision(
        kind=CorrelationKind.NEW,
        rule="none",
        reason=f"alert {alert.alert_id}: no open incident within {window} is similar enough "
        f"or related through the dependency graph",
    )
