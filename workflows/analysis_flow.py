"""AI triage inside the incident workflow: classify on open, diagnose, draft the post-mortem.

`IncidentWorkflow` owns one `AnalysisFlow` and calls its three hooks; the flow decides what to
ask, calls activities by their names in `side_effects`, and turns answers into timeline events
and chat updates. Activities read their own evidence from the database (alerts, change events,
similar past incidents, runbooks, the audit log), so only ids and small answers enter history.

An analysis failure never fails the incident: an `ActivityError` is recorded as a timeline
note and in `AnalysisProgress.failures`, and the incident carries on. Tokens spent are passed
into every request, so the per-incident LLM budget holds across calls and continue-as-new.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime

from pydantic import Field
from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from workflows import side_effects as fx
    from workflows.domain.analysis import (
        Category,
        Classification,
        Diagnosis,
        IncidentFacts,
        PostmortemDraft,
        TokenUsage,
    )
    from workflows.domain.base import Frozen, Severity
    from workflows.domain.incidents import AnalysisProgress, IncidentState
    from workflows.domain.timeline import EventKind

FAILURES_KEPT = 10
_CATEGORIES = frozenset(c.value for c in Category)
MAX_FINGERPRINTS = 50  # the activity reads at most this many alert identities' occurrences


class AnalysisTask(Frozen):
    """Input of the `analysis.*` activities: which incident and where to look, not the evidence.

    `fingerprints` and `opened_at` locate the incident's alerts even before the read model has
    projected it; `at` is workflow time, the moment the analysis looks from.
    """

    incident_id: str
    title: str
    service: str = ""
    severity: Severity = Severity.MEDIUM
    fingerprints: list[str] = Field(default_factory=list)
    opened_at: datetime
    at: datetime
    tokens_spent: int = 0
    facts: IncidentFacts | None = None  # post-mortems only: the state's own facts


class AnalysisRecord(Frozen):
    """Input of `record.analysis`: exactly one answer, and a key that makes retries harmless."""

    key: str
    incident_id: str
    at: datetime
    classification: Classification | None = None
    diagnosis: Diagnosis | None = None
    postmortem: PostmortemDraft | None = None


Emit = Callable[[EventKind, str, dict[str, str]], None]
PostUpdate = Callable[[str], Awaitable[None]]


class AnalysisFlow:
    """Classification, diagnosis and post-mortem for one incident workflow.

    Contract for `IncidentWorkflow`:
      * construct once in `@workflow.init` as `AnalysisFlow(emit, post_update, state.analysis)`
        (`emit` appends a timeline event; `post_update` posts text into the incident's chat
        threads and may raise `ActivityError`, which is recorded, not raised);
      * `await on_opened(state)` right after the incident opens (and after a reopen if you
        want a fresh triage), `await on_acknowledged(state)` after an acknowledge, and
        `await on_resolved(state)` after a resolve (manual or automatic);
      * after each hook, store `flow.progress` as `IncidentState.analysis` so continue-as-new
        carries tokens spent and what is done. Hooks never raise for analysis failures.
    Hooks serialise on a lock: an acknowledge during the opening triage waits for it and then
    sees that the diagnosis is already done.
    """

    def __init__(self, emit: Emit, post_update: PostUpdate,
                 progress: AnalysisProgress | None = None) -> None:
        self._emit = emit
        self._post_update = post_update
        self._progress = progress or AnalysisProgress()
        self._lock = asyncio.Lock()

    @property
    def progress(self) -> AnalysisProgress:
        return self._progress

    async def on_opened(self, state: IncidentState) -> AnalysisProgress:
        """Record a cascade link, classify, and diagnose at once when the incident is critical."""
        async with self._lock:
            self._adopt(state)
            self._link(state)
            classification = None
            if not self._progress.classified:
                classification = await self._classify(state)
            suggested = classification.severity if classification else None
            critical = Severity.CRITICAL in (state.severity, suggested)
            if critical and not self._progress.diagnosed:
                await self._diagnose(state)
        return self._progress

    async def on_acknowledged(self, state: IncidentState) -> AnalysisProgress:
        """Diagnose (and post it) unless the opening triage already did."""
        async with self._lock:
            self._adopt(state)
            if not self._progress.diagnosed:
                await self._diagnose(state)
        return self._progress

    async def on_resolved(self, state: IncidentState) -> AnalysisProgress:
        """Draft the post-mortem from the audit log; a reopen-and-resolve drafts a new one."""
        async with self._lock:
            self._adopt(state)
            await self._postmortem(state)
        return self._progress

    # ---- steps -------------------------------------------------------------------------------

    def _link(self, state: IncidentState) -> None:
        route = state.route
        if route.root_incident_id and not self._progress.classified:
            self._emit(EventKind.LINKED,
                       f"linked to root incident {route.root_incident_id}"
                       + ("; paging suppressed" if route.suppress_paging else ""),
                       {"root_incident_id": route.root_incident_id,
                        "suppress_paging": str(route.suppress_paging).lower(),
                        "reason": route.correlation_reason})

    async def _classify(self, state: IncidentState) -> Classification | None:
        c = await self._ask(fx.ANALYZE_CLASSIFY, self._task(state), Classification, "classify")
        if c is None:
            return None
        await self._record(state, "classification", classification=c)
        self._spend(c.tokens, classified=True, category=c.category.value)
        self._emit(EventKind.CLASSIFIED, classified_summary(c), classified_details(c))
        return c

    async def _diagnose(self, state: IncidentState) -> Diagnosis | None:
        d = await self._ask(fx.ANALYZE_DIAGNOSE, self._task(state), Diagnosis, "diagnose")
        if d is None:
            return None
        await self._record(state, "diagnosis", diagnosis=d)
        self._spend(d.tokens, diagnosed=True)
        self._emit(EventKind.DIAGNOSED, diagnosed_summary(d), diagnosed_details(d))
        try:
            await self._post_update(diagnosis_message(state, d))
        except ActivityError as err:
            self._failed("post diagnosis", err)
        return d

    async def _postmortem(self, state: IncidentState) -> PostmortemDraft | None:
        task = self._task(state).model_copy(update={"facts": self._facts(state)})
        draft = await self._ask(fx.ANALYZE_POSTMORTEM, task, PostmortemDraft, "post-mortem")
        if draft is None:
            return None
        row_id = await self._record(state, "postmortem", postmortem=draft)
        self._spend(draft.tokens, postmortem_drafted=True)
        self._emit(EventKind.POSTMORTEM,
                   f"post-mortem draft ready (by the {draft.generator} analyzer)"
                   + _why_local(draft.fallback_reason),
                   {"generator": draft.generator, "fallback_reason": draft.fallback_reason,
                    "analysis_id": str(row_id or ""),
                    "path": f"/api/v1/incidents/{state.incident_id}/postmortem"})
        return draft

    # ---- plumbing ----------------------------------------------------------------------------

    async def _ask(self, spec: fx.ActivitySpec, task: AnalysisTask, result_type: type, step: str):
        try:
            return await workflow.execute_activity(spec.name, task, result_type=result_type,
                                                   summary=step, **spec.options())
        except ActivityError as err:
            self._failed(step, err)
            return None

    async def _record(self, state: IncidentState, kind: str, **answer) -> int | None:
        # A deterministic key (replay gives the same uuid) so a retried write stores one row.
        rec = AnalysisRecord(key=f"{state.incident_id}:{kind}:{workflow.uuid4()}",
                             incident_id=state.incident_id, at=workflow.now(), **answer)
        try:
            return await workflow.execute_activity(fx.RECORD_ANALYSIS.name, rec, result_type=int,
                                                   summary=f"record {kind}",
                                                   **fx.RECORD_ANALYSIS.options())
        except ActivityError as err:
            self._failed(f"record {kind}", err)
            return None

    def _task(self, state: IncidentState) -> AnalysisTask:
        return AnalysisTask(incident_id=state.incident_id, title=state.title,
                            service=state.service, severity=state.severity,
                            fingerprints=sorted(state.members)[:MAX_FINGERPRINTS],
                            opened_at=state.opened_at, at=workflow.now(),
                            tokens_spent=self._progress.tokens_spent)

    def _facts(self, state: IncidentState) -> IncidentFacts:
        category = self._progress.category
        return IncidentFacts(
            incident_id=state.incident_id, title=state.title, service=state.service,
            severity=state.severity,
            category=Category(category) if category in _CATEGORIES else Category.UNKNOWN,
            opened_at=state.opened_at, acknowledged_at=state.acknowledged_at,
            resolved_at=state.resolved_at or workflow.now(),
            affected_services=[state.service] if state.service else [],
            alert_count=state.alert_count)

    def _adopt(self, state: IncidentState) -> None:
        """After continue-as-new the state may know more than a freshly built flow."""
        if state.analysis.tokens_spent > self._progress.tokens_spent or (
                self._progress == AnalysisProgress() and state.analysis != AnalysisProgress()):
            self._progress = state.analysis

    def _spend(self, tokens: TokenUsage, **done) -> None:
        p = self._progress
        self._progress = p.model_copy(update={
            "tokens_spent": p.tokens_spent + tokens.total,
            "cost_usd": round(p.cost_usd + tokens.cost_usd, 6), **done})

    def _failed(self, step: str, err: ActivityError) -> None:
        cause = err.cause or err
        message = f"{type(cause).__name__}: {cause}"
        failures = (self._progress.failures + [f"{step}: {message}"])[-FAILURES_KEPT:]
        self._progress = self._progress.model_copy(update={"failures": failures})
        self._emit(EventKind.NOTE, f"AI {step} failed; the incident carries on without it",
                   {"step": step, "error": message[:500]})


# ---- rendering (pure) --------------------------------------------------------------------------


def _why_local(reason: str) -> str:
    return f" (local because: {reason})" if reason else ""


def classified_summary(c: Classification) -> str:
    return (f"classified {c.category.value}, suggested severity {c.severity.value} "
            f"({c.priority}), score {c.score:.2f}, confidence {c.confidence:.0%}, "
            f"by the {c.classifier} classifier" + _why_local(c.fallback_reason))


def classified_details(c: Classification) -> dict[str, str]:
    return {"category": c.category.value, "severity": c.severity.value, "priority": c.priority,
            "score": f"{c.score:.4f}", "confidence": f"{c.confidence:.2f}",
            "service": c.service, "classifier": c.classifier, "reason": c.reason[:500],
            "fallback_reason": c.fallback_reason, "tokens": str(c.tokens.total),
            "cost_usd": f"{c.tokens.cost_usd:.6f}"}


def diagnosed_summary(d: Diagnosis) -> str:
    top = d.top if d.hypotheses else None
    lead = f"{top.cause} ({top.confidence:.0%})" if top else "no hypothesis"
    return f"diagnosis: {lead}, by the {d.analyzer} analyzer" + _why_local(d.fallback_reason)


def diagnosed_details(d: Diagnosis) -> dict[str, str]:
    details = {"analyzer": d.analyzer, "fallback_reason": d.fallback_reason,
               "tokens": str(d.tokens.total), "cost_usd": f"{d.tokens.cost_usd:.6f}",
               "runbook": d.runbooks[0].runbook_id if d.runbooks else ""}
    for i, h in enumerate(d.hypotheses[:3], start=1):
        details[f"hypothesis_{i}"] = f"{h.cause} | {h.service or '-'} | {h.confidence:.2f}"
        details[f"evidence_{i}"] = ", ".join(f"{e.source.value}:{e.ref}" for e in h.evidence)[:500]
    return details


def diagnosis_message(state: IncidentState, d: Diagnosis) -> str:
    """The chat post: ranked hypotheses with their evidence, the runbook and first steps."""
    lines = [f"*AI diagnosis for {state.title}* (by the {d.analyzer} analyzer"
             + (f"; {d.fallback_reason}" if d.fallback_reason else "") + ")"]
    for i, h in enumerate(d.hypotheses[:3], start=1):
        cites = "; ".join(f"{e.source.value} {e.ref}: {e.detail}" for e in h.evidence[:3])
        lines.append(f"{i}. {h.cause} — {h.service or 'service unknown'}, "
                     f"{h.confidence:.0%}" + (f" [{cites}]" if cites else ""))
    if d.runbooks:
        lines.append(f"Runbook: {d.runbooks[0].title} ({d.runbooks[0].runbook_id})")
    lines += [f"• {s.action}" + (f" `{s.command}`" if s.command else "") + f" (risk {s.risk.value})"
              for s in d.remediation[:3]]
    return "\n".join(lines)
