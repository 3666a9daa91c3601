"""`lim eval grouping FILE.jsonl`: replay a labelled alert stream through grouping and score it.

The replay mirrors the product: exact dedup key first (`workflows.domain.grouping.key_of`: the
group-by labels plus any scope label - env, cluster, region - the alert carries outside them,
so look-alikes in two clusters never share a key), a just-closed incident
reopens on a flap inside `FLAP_WINDOW`, and otherwise `workflows.domain.correlation.correlate`
decides merge / cascade link / new. An incident closes when all its alert identities resolved.
A linked symptom incident counts with its root (it does not page), so a predicted group is a
root incident with its symptoms.

Pairwise precision = of all pairs of firing occurrences we put together, the share that truly
belong together; recall = of all true pairs, the share we put together. Noise reduction =
1 - paging incidents / raw firing occurrences.

A missing file or a malformed line raises `EvalInputError` naming the file and line.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import Field

from activities.llm.evaluation import EvalInputError, read_jsonl
from workflows.domain.base import Frozen
from workflows.domain.correlation import (
    CorrelationKind,
    NewAlert,
    OpenIncident,
    correlate,
)
from workflows.domain.grouping import SCOPE_LABELS, key_of

FLAP_WINDOW = timedelta(minutes=10)
PRODUCT_GROUP_BY = ("alertname", "service", "env")
CLUSTER_AWARE_GROUP_BY = ("alertname", "service", "env", "cluster")


class GroupingReport(Frozen):
    path: str
    group_by: list[str]
    raw_alerts: int
    incidents: int
    paging_incidents: int
    truth_groups: int
    precision: float
    recall: float
    noise_reduction: float
    decisions: dict[str, int] = Field(default_factory=dict)


class _Incident:
    def __init__(self, iid: str, alert: NewAlert, key: str) -> None:
        self.iid, self.key, self.alert = iid, key, alert
        self.firing: set[str] = set()
        self.last_alert_at = alert.at
        self.closed_at: datetime | None = None
        self.parent: str | None = None

    def view(self) -> OpenIncident:
        a = self.alert
        return OpenIncident(
            incident_id=self.iid,
            title=a.title,
            description=a.description,
            service=a.service,
            scope=a.scope,
            opened_at=a.at,
            last_alert_at=self.last_alert_at,
        )


class _Replay:
    def __init__(self, graph: dict[str, list[str]], group_by: tuple[str, ...]) -> None:
        self.graph, self.group_by = graph, group_by
        self.incidents: dict[str, _Incident] = {}
        self.by_key: dict[str, str] = {}
        self.assigned: list[tuple[str, str]] = []  # (incident id, truth) per firing occurrence
        self.decisions: Counter[str] = Counter()

    def feed(self, row: dict) -> None:
        labels, at = row["labels"], datetime.fromisoformat(row["at"])
        key = key_of(lambda name: labels.get(name, ""), self.group_by)
        ident = json.dumps(labels, sort_keys=True)
        inc = self.incidents.get(self.by_key.get(key, ""))
        if row["status"] == "resolved":
            if inc and inc.closed_at is None:
                inc.firing.discard(ident)
                inc.closed_at = at if not inc.firing else None
            return
        if inc is None or (inc.closed_at and at - inc.closed_at > FLAP_WINDOW):
            inc = self._open(row, labels, at, key)
        elif inc.closed_at:
            inc.closed_at = None
            self.decisions["flap_reopen"] += 1
        else:
            self.decisions["dedup_key"] += 1
        inc.firing.add(ident)
        inc.last_alert_at = at
        self.assigned.append((inc.iid, row["truth"]))

    def _open(self, row: dict, labels: dict, at: datetime, key: str) -> _Incident:
        alert = NewAlert(
            alert_id=f"a{len(self.assigned)}",
            title=row["title"],
            description=row.get("description", ""),
            service=labels.get("service", ""),
            scope={k: labels[k] for k in SCOPE_LABELS if k in labels},
            at=at,
        )
        open_ = [i.view() for i in self.incidents.values() if i.closed_at is None]
        decision = correlate(alert, open_, self.graph)
        self.decisions[decision.kind.value] += 1
        if decision.kind is CorrelationKind.MERGE:
            inc = self.incidents[decision.incident_id]
            self.by_key[key] = inc.iid
            return inc
        inc = _Incident(f"inc{len(self.incidents)}", alert, key)
        self.incidents[inc.iid] = inc
        self.by_key[key] = inc.iid
        if decision.kind is CorrelationKind.LINK:
            inc.parent = decision.incident_id
        for symptom in decision.symptoms:
            self.incidents[symptom].parent = inc.iid
        return inc

    def root(self, iid: str) -> str:
        seen = set()
        while self.incidents[iid].parent and iid not in seen:
            seen.add(iid)
            iid = self.incidents[iid].parent
        return iid


_ALERT_FIELDS = ("at", "status", "labels", "title", "truth")


def stream_row_problem(row: dict) -> str | None:
    """Why `row` is not a usable graph or alert line of a grouping stream, or None."""
    kind = row.get("type", "alert")
    if kind == "graph":
        graph = row.get("depends_on")
        if not isinstance(graph, dict) or not all(isinstance(v, list) for v in graph.values()):
            return 'field "depends_on" must map each service to a list of services'
        return None
    if kind != "alert":
        return f'unknown type {kind!r} (expected "graph" or "alert")'
    for field in _ALERT_FIELDS:
        if field not in row:
            return f'missing field "{field}"'
    if not isinstance(row["labels"], dict):
        return 'field "labels" must be an object'
    if row["status"] not in ("firing", "resolved"):
        return f'field "status" must be "firing" or "resolved", not {row["status"]!r}'
    try:
        datetime.fromisoformat(str(row["at"]))
    except ValueError:
        return f'field "at" is not an ISO-8601 time: {row["at"]!r}'
    return None


def _pairs(counts: Counter) -> int:
    return sum(n * (n - 1) // 2 for n in counts.values())


def evaluate_grouping(
    path: str | Path, group_by: tuple[str, ...] = PRODUCT_GROUP_BY
) -> GroupingReport:
    """Replay `path` (see `bench/grouping_storm.py` for the format) and score the grouping.

    Raises `EvalInputError` for a missing file, a malformed line, or mixed naive/aware times.
    """
    lines = read_jsonl(path, stream_row_problem)
    graph = next((x["depends_on"] for x in lines if x.get("type") == "graph"), {})
    replay = _Replay(graph, group_by)
    alerts = [x for x in lines if x.get("type", "alert") == "alert"]
    if not alerts:
        raise EvalInputError(path, 'no alert lines (expected {"type": "alert", ...} rows)')
    try:
        for row in sorted(alerts, key=lambda r: datetime.fromisoformat(r["at"])):
            replay.feed(row)
    except TypeError as exc:  # comparing naive with aware times: the file mixes both
        raise EvalInputError(path, f"times must all carry a UTC offset or none ({exc})") from None
    predicted = [(replay.root(iid), truth) for iid, truth in replay.assigned]
    together = _pairs(Counter(predicted))
    pred_pairs, true_pairs = (
        _pairs(Counter(p for p, _ in predicted)),
        _pairs(Counter(t for _, t in predicted)),
    )
    roots = {p for p, _ in predicted}
    raw = len(predicted)
    return GroupingReport(
        path=str(path),
        group_by=list(group_by),
        raw_alerts=raw,
        incidents=len(replay.incidents),
        paging_incidents=len(roots),
        truth_groups=len({t for _, t in predicted}),
        precision=round(together / pred_pairs, 4) if pred_pairs else 1.0,
        recall=round(together / true_pairs, 4) if true_pairs else 1.0,
        noise_reduction=round(1 - len(roots) / raw, 4) if raw else 0.0,
        decisions=dict(replay.decisions),
    )


def render_grouping_report(report: GroupingReport) -> str:
    return "\n".join(
        [
            f"file: {report.path}  group_by: {','.join(report.group_by)}",
            f"raw firing alerts: {report.raw_alerts}  truth groups: {report.truth_groups}",
            f"incidents: {report.incidents}  paging (roots): {report.paging_incidents}",
            f"pairwise precision: {report.precision:.4f}  recall: {report.recall:.4f}",
            f"noise reduction: {report.noise_reduction:.2%}",
            "decisions: " + ", ".join(f"{k}={v}" for k, v in sorted(report.decisions.items())),
        ]
    )
