"""The deterministic local analyzer: ranked, cited hypotheses from an `AnalysisBundle`.

Per service with anomalous evidence it scores (weights sum to 1):
  anomaly size   0.25  largest relative metric deviation (|current-baseline|/baseline, capped 1)
  onset order    0.20  earliest anomaly first (alerts, metric breaches, error logs)
  error logs     0.15  error-level lines or error patterns, capped at 5
  graph position 0.20  most upstream anomalous service: none of its dependencies is anomalous
  recent change  0.20  a deploy/config change on the service within 60 min before its onset
A service is only blamed when it has evidence of its own (alert, metric or log); a change on a
quiet service is never enough. Below `UNKNOWN_BELOW` the first hypothesis is "unknown".
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from activities.llm.data.category_rules import category_evidence, name_words
from activities.llm.runbooks import RunbookLibrary, remediation_for
from workflows.domain.analysis import (
    AnalysisBundle,
    Category,
    ChangeEvent,
    DiagnoseRequest,
    Diagnosis,
    Evidence,
    EvidenceSource,
    Hypothesis,
    MetricSeries,
)
from workflows.domain.correlation import words

WEIGHTS = {"anomaly": 0.25, "onset": 0.20, "logs": 0.15, "graph": 0.20, "change": 0.20}
CHANGE_LOOKBACK = timedelta(minutes=60)
UNKNOWN_BELOW = 0.35
METRIC_ANOMALY = 0.3  # relative deviation that counts as an anomaly
_ERROR_LOG = re.compile(
    r"error|exception|fatal|panic|timeout|timed out|refused|oom|out of memory|too many|"
    r"deadlock|unavailable|traceback|5\d\d\b",
    re.IGNORECASE,
)


class _Service:
    def __init__(self, name: str) -> None:
        self.name = name
        self.evidence: list[Evidence] = []
        self.onset: datetime | None = None
        self.deviation = 0.0
        self.error_logs = 0
        self.change: ChangeEvent | None = None
        self.hints: list[str] = []  # alert and metric names: the classifier's strong zone
        self.text: list[str] = []  # descriptions and log lines: weaker evidence

    def saw(self, at: datetime) -> None:
        self.onset = at if self.onset is None else min(self.onset, at)


def _deviation(series: MetricSeries) -> tuple[float, datetime | None]:
    """Relative deviation in the bad direction, and when the series first breached."""
    if series.baseline is not None and series.current is not None:
        base, cur, onset = series.baseline, series.current, None
    elif len(series.points) >= 4:
        half = len(series.points) // 2
        # A caller-given baseline (e.g. the level before the alert fired) beats the first half.
        base = (series.baseline if series.baseline is not None
                else sum(p.value for p in series.points[:half]) / half)
        cur = (
            max(p.value for p in series.points[half:])
            if series.higher_is_worse
            else min(p.value for p in series.points[half:])
        )
        limit = base + (cur - base) * 0.5
        breach = [p for p in series.points[half:] if (p.value >= limit) == series.higher_is_worse]
        onset = breach[0].time if breach else None
    else:
        return 0.0, None
    delta = (cur - base) if series.higher_is_worse else (base - cur)
    return min(1.0, max(0.0, delta / (abs(base) or 1.0))), onset


def _gather(bundle: AnalysisBundle) -> dict[str, _Service]:
    services: dict[str, _Service] = {}

    def get(name: str) -> _Service:
        return services.setdefault(name, _Service(name))

    for i, a in enumerate(bundle.alerts):
        if a.service:
            s = get(a.service)
            s.saw(a.starts_at)
            s.hints.append(" ".join(name_words(a.title)))
            s.text.append(a.description)
            ref = a.ref or f"alert[{i}]"
            s.evidence.append(
                Evidence(
                    source=EvidenceSource.ALERT,
                    ref=ref,
                    detail=f"{a.title} ({a.severity.value}) firing since {a.starts_at.isoformat()}",
                )
            )
    for i, m in enumerate(bundle.metrics):
        dev, onset = _deviation(m)
        if dev >= METRIC_ANOMALY:
            s = get(m.service)
            s.deviation = max(s.deviation, dev)
            if onset:
                s.saw(onset)
            s.hints.append(" ".join(name_words(m.name)))
            s.evidence.append(
                Evidence(
                    source=EvidenceSource.METRIC,
                    ref=m.ref or f"metric[{i}]:{m.name}",
                    detail=f"{m.name} deviates {dev:.0%} from baseline"
                    + (f" {m.baseline:.3g}" if m.baseline is not None else ""),
                )
            )
    _gather_logs(bundle, get)
    return services


def _gather_logs(bundle: AnalysisBundle, get) -> None:
    for i, line in enumerate(bundle.logs):
        if line.level.lower() in ("error", "fatal", "critical") or _ERROR_LOG.search(line.message):
            s = get(line.service)
            s.error_logs += 1
            s.saw(line.time)
            s.text.append(line.message)
            if s.error_logs <= 3:  # cite the first few; the count says the rest
                s.evidence.append(
                    Evidence(
                        source=EvidenceSource.LOG,
                        ref=f"log[{i}]",
                        detail=f"{line.time.isoformat()} {line.level}: {line.message[:160]}",
                    )
                )


def _attach_changes(services: dict[str, _Service], changes: list[ChangeEvent]) -> None:
    for i, change in enumerate(sorted(changes, key=lambda c: c.time)):
        s = services.get(change.service)
        if s and s.onset and timedelta(0) <= s.onset - change.time <= CHANGE_LOOKBACK:
            s.change = change
            s.evidence.append(
                Evidence(
                    source=EvidenceSource.CHANGE,
                    ref=change.ref or f"change[{i}]",
                    detail=f"{change.kind.value} at {change.time.isoformat()}: "
                    f"{change.description}",
                )
            )


def _scores(services: dict[str, _Service], graph: dict[str, list[str]]) -> dict[str, float]:
    onsets = sorted(s.onset for s in services.values() if s.onset)
    out = {}
    for s in services.values():
        rank = onsets.index(s.onset) if s.onset in onsets else len(onsets)
        onset = 1 - rank / max(1, len(onsets))
        anomalous_deps = [d for d in graph.get(s.name, []) if d in services]
        dependants = [x for x, deps in graph.items() if s.name in deps and x in services]
        graph_score = (
            1.0
            if not anomalous_deps and (dependants or len(services) == 1)
            else (0.5 if not anomalous_deps else 0.0)
        )
        parts = {
            "anomaly": s.deviation if s.deviation else (0.5 if s.evidence else 0.0),
            "onset": onset,
            "logs": min(1.0, s.error_logs / 5),
            "graph": graph_score,
            "change": 1.0 if s.change else 0.0,
        }
        out[s.name] = round(sum(WEIGHTS[k] * v for k, v in parts.items()), 4)
    return out


def _cause(s: _Service, graph: dict[str, list[str]], services: dict[str, _Service]) -> str:
    if s.change:
        return (
            f"{s.change.kind.value} of {s.name} at {s.change.time:%H:%M} "
            f"('{s.change.description}') shortly before its errors began"
        )
    upstream = sorted(d for d in graph.get(s.name, []) if d in services)
    if upstream:
        return f"{s.name} shows symptoms downstream of {', '.join(upstream)}"
    dependants = sorted(x for x, deps in graph.items() if s.name in deps and x in services)
    if dependants:
        return f"{s.name} is failing and its dependants ({', '.join(dependants)}) show symptoms"
    return f"{s.name} is failing on its own (anomaly without an upstream cause in the data)"


def _category(s: _Service) -> Category:
    """The classifier's own category evidence, so diagnosis and triage never disagree."""
    scores = category_evidence(" ".join(s.hints).lower(), " ".join(s.text).lower())
    return max(scores, key=lambda c: (scores[c], c.value)) if scores else Category.UNKNOWN


def _past_incident_evidence(s: _Service, bundle: AnalysisBundle) -> list[Evidence]:
    return [
        Evidence(
            source=EvidenceSource.PAST_INCIDENT,
            ref=p.incident_id,
            detail=f"earlier incident '{p.title}'"
            + (f": root cause {p.root_cause}" if p.root_cause else ""),
        )
        for p in bundle.past_incidents
        if p.service == s.name
    ][:2]


class LocalAnalyzer:
    """Answers `diagnose` offline and deterministically; same schema as the Claude path."""

    def __init__(self, runbooks: RunbookLibrary) -> None:
        self.runbooks = runbooks

    def diagnose(self, req: DiagnoseRequest) -> Diagnosis:
        bundle = req.bundle
        services = _gather(bundle)
        _attach_changes(services, bundle.changes)
        scores = _scores(services, bundle.dependencies)
        ranked = sorted(services.values(), key=lambda s: (-scores[s.name], s.name))
        hypotheses = [
            Hypothesis(
                cause=_cause(s, bundle.dependencies, services),
                service=s.name,
                category=_category(s),
                confidence=scores[s.name],
                evidence=[*s.evidence, *_past_incident_evidence(s, bundle)],
            )
            for s in ranked[:3]
        ]
        notes = f"{len(services)} service(s) with evidence; scores " + ", ".join(
            f"{s.name}={scores[s.name]:.2f}" for s in ranked[:5]
        )
        if not hypotheses or hypotheses[0].confidence < UNKNOWN_BELOW:
            best = hypotheses[0].confidence if hypotheses else 0.0
            hypotheses = [_unknown(best), *hypotheses][:3]
        return self._with_runbook(req, hypotheses, notes)

    def _with_runbook(self, req: DiagnoseRequest, hypotheses: list[Hypothesis], notes: str):
        top = next((h for h in hypotheses if h.service), None)
        parts = [
            req.title,
            *(f"{' '.join(words(a.title))} {a.description}" for a in req.bundle.alerts[:3]),
        ]
        parts += [e.detail for e in top.evidence] if top else []
        text = " ".join(parts)
        found = self.runbooks.search(
            text, top.category if top else None, top.service if top else req.service
        )
        remediation = (
            remediation_for(found[0][0], top.service if top else req.service) if found else []
        )
        if found and top:
            cited = Evidence(
                source=EvidenceSource.RUNBOOK,
                ref=found[0][0].runbook_id,
                detail=f"runbook '{found[0][0].title}' matches (score {found[0][1]:.2f})",
            )
            hypotheses = [
                h.model_copy(update={"evidence": [*h.evidence, cited]}) if h is top else h
                for h in hypotheses
            ]
        return Diagnosis(
            hypotheses=hypotheses,
            remediation=remediation,
            runbooks=[rb.ref(score) for rb, score in found],
            analyzer="local",
            notes=notes,
        )


def _unknown(best_score: float) -> Hypothesis:
    """The honest answer when no service's evidence is strong: confidence grows as it weakens."""
    return Hypothesis(
        cause="unknown",
        category=Category.UNKNOWN,
        confidence=round(min(0.6, max(0.1, 1 - best_score - 0.3)), 2),
        evidence=[],
    )
