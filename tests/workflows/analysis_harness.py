"""A tiny workflow that owns an `AnalysisFlow` the way `IncidentWorkflow` will, for tests.

It runs on its own queue (`harness_worker`, started next to the session worker in
conftest) and projects the incident (the real `record.incident` activity) so the analysis activities read
a real audit log, then drives the hooks in the order the input names. `ProbeAnalyzer` wraps the
real local analyzer: it charges a fixed token count per answer (to prove the budget carries
across calls), remembers the `tokens_spent` each request arrived with, and fails on demand.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows import side_effects as fx
    from workflows.analysis_flow import AnalysisFlow
    from workflows.domain.base import Frozen
    from workflows.domain.incidents import AnalysisProgress, IncidentState
    from workflows.domain.lifecycle import IncidentStatus
    from workflows.domain.timeline import EventKind, RecordIncident, TimelineEvent

FAIL_MARK = "[analysis-fails]"
TOKENS_PER_ANSWER = 100


class HarnessInput(Frozen):
    state: IncidentState
    steps: list[str] = Field(default_factory=list)  # "ack" | "resolve"


class HarnessResult(Frozen):
    events: list[TimelineEvent]
    posts: list[str]
    progress: AnalysisProgress


@workflow.defn(name="AnalysisHarnessWorkflow")
class AnalysisHarnessWorkflow:
    @workflow.init
    def __init__(self, inp: HarnessInput) -> None:
        self._state = inp.state
        self._events: list[TimelineEvent] = []
        self._pending: list[TimelineEvent] = []
        self._posts: list[str] = []
        self._flow = AnalysisFlow(self._emit, self._post, inp.state.analysis)

    @workflow.run
    async def run(self, inp: HarnessInput) -> HarnessResult:
        self._emit(EventKind.OPENED, f"incident opened by alert: {self._state.title}", {})
        await self._project()
        await self._keep(await self._flow.on_opened(self._state))
        for step in inp.steps:
            now = workflow.now()
            if step == "ack":
                self._state = self._state.model_copy(update={
                    "status": IncidentStatus.ACKNOWLEDGED, "acknowledged_at": now})
                self._emit(EventKind.ACKNOWLEDGED, "acknowledged", {})
                await self._keep(await self._flow.on_acknowledged(self._state))
            elif step == "resolve":
                self._state = self._state.model_copy(update={
                    "status": IncidentStatus.RESOLVED, "resolved_at": now})
                self._emit(EventKind.RESOLVED, "resolved", {})
                await self._keep(await self._flow.on_resolved(self._state))
            await workflow.sleep(timedelta(minutes=7))
        return HarnessResult(events=self._events, posts=self._posts, progress=self._flow.progress)

    async def _keep(self, progress: AnalysisProgress) -> None:
        self._state = self._state.model_copy(update={"analysis": progress,
                                                     "version": self._state.version + 1})
        await self._project()

    async def _project(self) -> None:
        events, self._pending = self._pending, []
        await workflow.execute_activity(
            fx.RECORD_INCIDENT.name,
            RecordIncident(workflow_id=workflow.info().workflow_id, state=self._state,
                           events=events),
            result_type=int, **fx.RECORD_INCIDENT.options())

    def _emit(self, kind: EventKind, summary: str, details: dict[str, str]) -> None:
        seq = self._state.timeline_seq + 1
        self._state = self._state.model_copy(update={"timeline_seq": seq})
        event = TimelineEvent(seq=seq, at=workflow.now(), kind=kind, summary=summary,
                              details=details)
        self._events.append(event)
        self._pending.append(event)

    async def _post(self, text: str) -> None:
        self._posts.append(text)


class ProbeAnalyzer:
    """The real analyzer, plus token charges, a log of budgets seen, and failure on demand."""

    kind = "probe"

    def __init__(self, real) -> None:
        self.real = real
        self.tokens_seen: dict[str, list[int]] = {}

    async def _answer(self, question: str, req, incident_id: str, title: str):
        from workflows.domain.analysis import TokenUsage

        if FAIL_MARK in title:
            raise RuntimeError("analyzer exploded (test)")
        self.tokens_seen.setdefault(incident_id, []).append(req.tokens_spent)
        answer = await getattr(self.real, question)(req)
        return answer.model_copy(update={"tokens": TokenUsage(
            input_tokens=TOKENS_PER_ANSWER, cost_usd=0.001)})

    async def classify(self, req):
        return await self._answer("classify", req, req.incident_id, req.title)

    async def diagnose(self, req):
        return await self._answer("diagnose", req, req.incident_id, req.title)

    async def postmortem(self, req):
        return await self._answer("postmortem", req, req.facts.incident_id, req.facts.title)


_probe: ProbeAnalyzer | None = None


def probe() -> ProbeAnalyzer:
    """The session's probe analyzer (the local engine fits its classifier once, ~1 s)."""
    global _probe
    if _probe is None:
        from activities.llm.fallback import build_analyzer
        from infra.settings.ai import AiSettings

        _probe = ProbeAnalyzer(build_analyzer(AiSettings()))
    return _probe


HARNESS_QUEUE = "analysis-harness"


def harness_worker(client, engine):
    """A session worker for the harness on its own queue: the harness workflow, the analysis
    activities on the probe analyzer, and the projection it needs."""
    from temporalio.worker import Worker

    from activities.analysis_record import AnalysisRecordActivities
    from activities.record import RecordActivities

    acts = AnalysisRecordActivities(engine, probe())
    return Worker(client, task_queue=HARNESS_QUEUE, workflows=[AnalysisHarnessWorkflow],
                  activities=[RecordActivities(engine).record_incident, acts.classify,
                              acts.diagnose, acts.postmortem, acts.record_analysis])
