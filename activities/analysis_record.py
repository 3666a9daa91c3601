"""Incident analysis activities: gather evidence from the database, ask the analyzer, store.

    analysis.classify   AnalysisTask   -> Classification
    analysis.diagnose   AnalysisTask   -> Diagnosis
    analysis.postmortem AnalysisTask   -> PostmortemDraft
    record.analysis     AnalysisRecord -> int (row id)

The workflow passes only ids and locations (`AnalysisTask`); the evidence - the incident's
alerts, recent change events and attachments, similar past incidents, the dependency graph,
the audit log and, when Prometheus is configured, the recent values of the alerts' queries -
is read here, so it never enters workflow history. Prometheus being down or slow only adds a
note to the diagnosis: it never fails (or retries) the activity. The analyzer (Claude with
the local fallback, `build_analyzer`) answers with the shared models and says who answered.
Storing is a separate activity so that a database retry never re-runs a paid LLM call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.engine import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.llm.fallback import Analyzer
from activities.llm.prometheus import AlertMetrics, AlertQuery, FetchedMetrics
from infra.db.engine import as_utc
from infra.db.repositories import alerts as alert_repo
from infra.db.repositories import analysis as repo
from infra.db.repositories import changes as change_repo
from infra.db.repositories import incidents as incident_repo
from workflows import side_effects as fx
from workflows.analysis_flow import AnalysisRecord, AnalysisTask
from workflows.domain.analysis import (
    AnalysisBundle,
    Category,
    Classification,
    ClassifyRequest,
    DiagnoseRequest,
    Diagnosis,
    IncidentFacts,
    LogLine,
    MetricSeries,
    ObservedAlert,
    PastIncident,
    PostmortemDraft,
    PostmortemRequest,
    TimelineEntry,
)
from workflows.domain.base import Severity
from workflows.domain.correlation import cosine_similarities

CHANGE_LOOKBACK = timedelta(hours=6)  # deploys older than this rarely explain a fresh failure
MAX_ALERTS = 50
MAX_PAST_INCIDENTS = 5
PAST_SIMILARITY_FLOOR = 0.2  # below this a past incident is noise, not precedent
MAX_TIMELINE = 500

Graph = Callable[[], dict[str, list[str]]]


def configured_graph(engine: Engine) -> Graph:
    """The applied configuration's `depends_on` graph, read fresh on each call."""

    def read() -> dict[str, list[str]]:
        from infra.config.store import ConfigStore

        current = ConfigStore(engine).current()
        if current is None:
            return {}
        return {s.id: list(s.depends_on) for s in current.document.services}

    return read


class AnalysisRecordActivities:
    """Holds the engine and the analyzer; built once in the worker's composition root."""

    def __init__(self, engine: Engine, analyzer: Analyzer, graph: Graph | None = None,
                 metrics: AlertMetrics | None = None) -> None:
        self._engine = engine
        self._analyzer = analyzer
        self._graph = graph or configured_graph(engine)
        self._metrics = metrics  # None: no Prometheus configured

    @activity.defn(name=fx.ANALYZE_CLASSIFY.name)
    async def classify(self, task: AnalysisTask) -> Classification:
        """Classify from the incident's first alert (title, description, labels)."""
        req = await asyncio.to_thread(self._classify_request, task)
        return await self._analyzer.classify(req)

    @activity.defn(name=fx.ANALYZE_DIAGNOSE.name)
    async def diagnose(self, task: AnalysisTask) -> Diagnosis:
        """Rank hypotheses over the evidence bundle read from the database and Prometheus."""
        alerts = await asyncio.to_thread(self._alerts, task)
        req = await asyncio.to_thread(self._diagnose_request, task, alerts)
        fetched = await self._alert_metrics(alerts, task)
        if fetched.series:
            bundle = req.bundle.model_copy(
                update={"metrics": [*req.bundle.metrics, *fetched.series]})
            req = req.model_copy(update={"bundle": bundle})
        diagnosis = await self._analyzer.diagnose(req)
        if not fetched.note:
            return diagnosis
        notes = f"{diagnosis.notes}; {fetched.note}" if diagnosis.notes else fetched.note
        return diagnosis.model_copy(update={"notes": notes})

    @activity.defn(name=fx.ANALYZE_POSTMORTEM.name)
    async def postmortem(self, task: AnalysisTask) -> PostmortemDraft:
        """Draft from the audit log, the state's facts and the latest stored diagnosis."""
        req = await asyncio.to_thread(self._postmortem_request, task)
        return await self._analyzer.postmortem(req)

    @activity.defn(name=fx.RECORD_ANALYSIS.name)
    async def record_analysis(self, rec: AnalysisRecord) -> int:
        """Store one answer (idempotent on `rec.key`); returns the row id."""
        return await asyncio.to_thread(repo.store, self._engine, record_row(rec))

    # ---- evidence (run in a thread: blocking DB reads) ---------------------------------------

    def _alerts(self, task: AnalysisTask) -> list[dict]:
        if not task.fingerprints:
            return []
        rows = alert_repo.alerts_for(self._engine, task.fingerprints, task.opened_at, MAX_ALERTS)
        return sorted(rows, key=lambda r: r["received_at"])

    def _classify_request(self, task: AnalysisTask) -> ClassifyRequest:
        alerts = self._alerts(task)
        first = alerts[0] if alerts else {}
        return ClassifyRequest(
            incident_id=task.incident_id, title=first.get("title") or task.title,
            description=first.get("description", ""), labels=first.get("labels") or {},
            annotations=first.get("annotations") or {},
            service=first.get("service") or task.service, tokens_spent=task.tokens_spent)

    async def _alert_metrics(self, alerts: list[dict], task: AnalysisTask) -> FetchedMetrics:
        if self._metrics is None:
            return FetchedMetrics([], "")
        queries = [AlertQuery(a["generator_url"] or "", a["service"] or task.service,
                              as_utc(a["starts_at"])) for a in alerts]
        return await self._metrics.fetch(queries, task.at)

    def _diagnose_request(self, task: AnalysisTask,
                          alerts: list[dict] | None = None) -> DiagnoseRequest:
        alerts = self._alerts(task) if alerts is None else alerts
        graph = self._graph()
        services = sorted({a["service"] for a in alerts if a["service"]} | {task.service} - {""})
        logs, metrics = self._attachments(task.incident_id)
        bundle = AnalysisBundle(
            alerts=[observed(a) for a in alerts], logs=logs, metrics=metrics,
            dependencies=graph,
            changes=[change_repo.as_change_event(r) for r in change_repo.list_changes(
                self._engine, related_services(services, graph),
                task.opened_at - CHANGE_LOOKBACK, task.at + timedelta(seconds=1))],
            past_incidents=self._past_incidents(task), now=task.at)
        return DiagnoseRequest(incident_id=task.incident_id, title=task.title,
                               service=task.service, bundle=bundle,
                               tokens_spent=task.tokens_spent)

    def _attachments(self, incident_id: str) -> tuple[list[LogLine], list[MetricSeries]]:
        logs: list[LogLine] = []
        metrics: list[MetricSeries] = []
        for row in change_repo.attachments_for(self._engine, incident_id):
            logs += [LogLine.model_validate(x) for x in row["logs"]]
            metrics += [MetricSeries.model_validate(x) for x in row["metrics"]]
        return logs, metrics

    def _past_incidents(self, task: AnalysisTask) -> list[PastIncident]:
        """Resolved incidents whose titles read like this one (same service first)."""
        filters = {"status": ["resolved"], "service": [task.service] if task.service else []}
        rows, _ = incident_repo.list_incidents(self._engine, filters, limit=100, offset=0)
        rows = [r for r in rows if r["id"] != task.incident_id]
        if not rows:
            return []
        scores = cosine_similarities(task.title, [r["title"] for r in rows])
        ranked = sorted(zip(scores, rows, strict=True), key=lambda p: -p[0])
        best = [r for s, r in ranked[:MAX_PAST_INCIDENTS] if s >= PAST_SIMILARITY_FLOOR]
        known = repo.latest_root_causes(self._engine, [r["id"] for r in best])
        return [past_incident(r, known.get(r["id"], {})) for r in best]

    def _postmortem_request(self, task: AnalysisTask) -> PostmortemRequest:
        facts = task.facts or IncidentFacts(incident_id=task.incident_id, title=task.title,
                                            opened_at=task.opened_at, resolved_at=task.at)
        alerts = self._alerts(task)
        services = sorted({a["service"] for a in alerts if a["service"]} | set(
            facts.affected_services))
        facts = facts.model_copy(update={
            "affected_services": services,
            "pages_sent": repo.pages_sent(self._engine, task.incident_id)})
        stored = repo.latest(self._engine, task.incident_id, "diagnosis")
        diagnosis = Diagnosis.model_validate(stored["content"]) if stored else None
        rows = incident_repo.timeline(self._engine, task.incident_id)[-MAX_TIMELINE:]
        return PostmortemRequest(facts=facts, timeline=with_unprojected(facts, rows),
                                 diagnosis=diagnosis, tokens_spent=task.tokens_spent)


# ---- pure helpers ----------------------------------------------------------------------------


def observed(row: dict) -> ObservedAlert:
    severity = row["severity"] if row["severity"] in {s.value for s in Severity} else "medium"
    return ObservedAlert(title=row["title"], service=row["service"], severity=severity,
                         starts_at=row["starts_at"], description=row["description"],
                         labels=row["labels"] or {}, ref=f"alert:{row['id']}")


def related_services(services: list[str], graph: dict[str, list[str]]) -> list[str]:
    """The incident's services and everything they depend on: where a change could hurt them.
    Empty (meaning all) when no service is known."""
    seen, frontier = set(services), list(services)
    while frontier:
        for dep in graph.get(frontier.pop(), []):
            if dep not in seen:
                seen.add(dep)
                frontier.append(dep)
    return sorted(seen)


def past_incident(row: dict, known: dict) -> PastIncident:
    category = known.get("category", "")
    return PastIncident(
        incident_id=row["id"], title=row["title"], service=row["service"],
        category=category if category in {c.value for c in Category} else Category.UNKNOWN,
        root_cause=known.get("root_cause", ""), resolved_at=row["resolved_at"])


def with_unprojected(facts: IncidentFacts, rows: list[dict]) -> list[TimelineEntry]:
    """The audit log as entries, plus the ack/resolve the state knows but the read model may
    not show yet (the post-mortem runs right after the resolve, before its projection)."""
    entries = [TimelineEntry(at=r["at"], kind=r["kind"], summary=r["summary"],
                             actor=r["actor_name"] or f"{r['actor_kind']}:{r['actor_id']}")
               for r in rows]
    kinds = {e.kind for e in entries}
    if facts.acknowledged_at and "acknowledged" not in kinds:
        entries.append(TimelineEntry(at=facts.acknowledged_at, kind="acknowledged",
                                     summary="acknowledged"))
    if facts.resolved_at and not kinds & {"resolved", "auto_resolved"}:
        entries.append(TimelineEntry(at=facts.resolved_at, kind="resolved", summary="resolved"))
    return entries


def record_row(rec: AnalysisRecord) -> dict:
    """The `analyses` row for one answer (exactly one of the three must be set)."""
    answer, kind, analyzer, markdown = _answer(rec)
    return {"key": rec.key, "incident_id": rec.incident_id, "kind": kind, "created_at": rec.at,
            "analyzer": analyzer, "fallback_reason": answer.fallback_reason,
            "tokens": answer.tokens.total, "cost_usd": answer.tokens.cost_usd,
            "content": answer.model_dump(mode="json", exclude={"markdown"}),
            "markdown": markdown}


def _answer(rec: AnalysisRecord):
    if rec.classification is not None:
        return rec.classification, "classification", rec.classification.classifier, ""
    if rec.diagnosis is not None:
        return rec.diagnosis, "diagnosis", rec.diagnosis.analyzer, ""
    if rec.postmortem is not None:
        p = rec.postmortem
        return p, "postmortem", p.generator, p.markdown
    # A caller bug: retrying cannot help, so fail the attempt for good.
    raise ApplicationError("an AnalysisRecord needs exactly one answer",
                           type="InvalidAnalysisRecord", non_retryable=True)
