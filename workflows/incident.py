"""IncidentWorkflow: one long-running workflow per incident; it owns the incident's state.

Read `run` top to bottom: wait for the first alert, start the background flows (the escalation
ladder, analysis), then loop - project what happened, close after the flap window once
resolved, continue-as-new when history grows. Alerts arrive as signals (facts, durable even with
no worker); humans act through updates with validators (rejected commands never reach history);
`state` is a query. The ladder lives in `escalation_flow.py`, paging in `paging.py`; background
work never blocks the lifecycle and is awaited before the run closes or continues as new.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflows import side_effects as fx
    from workflows.analysis_flow import AnalysisFlow
    from workflows.cascade_links import (
        ADOPT_PATCH,
        LINK_SIGNAL,
        adopts,
        linked_to_root,
        tell_symptoms,
    )
    from workflows.domain.base import Actor
    from workflows.domain.incident_rules import Happening, apply_alerts, open_incident, transition
    from workflows.domain.incidents import (
        Acknowledge,
        AddNote,
        AlertBatch,
        AnalysisProgress,
        ChangeSeverity,
        Command,
        CommandResult,
        Escalate,
        EscalationProgress,
        IncidentInput,
        IncidentState,
        LinkToRoot,
        QueuedCommand,
        Reassign,
        Reopen,
        Resolve,
        Snooze,
    )
    from workflows.domain.lifecycle import IncidentStatus, Transition, next_status
    from workflows.domain.timeline import EventKind, RecordIncident, TimelineEvent
    from workflows.escalation_flow import EscalationFlow
    from workflows.paging import Pager
    from workflows.queued_commands import QUEUED_COMMAND_SIGNAL, resolve_queued
    from workflows.search import MEMO_TITLE, SA_ENV, SA_SERVICE, SA_SEVERITY, SA_STATUS

HANDLED_IDS_KEPT = 200
# Well below the server's 4,096-event suggestion: a chatty incident stays cheap to replay.
MAX_HISTORY_EVENTS = 2_000
# Histories recorded before handlers were drained while projecting replay the old way.
PATCH_DRAIN_PROJECTING = "drain-handlers-projecting"
MAX_SNOOZE_MINUTES = 24 * 60


@workflow.defn(name="IncidentWorkflow")
class IncidentWorkflow:
    @workflow.init
    def __init__(self, inp: IncidentInput) -> None:
        self._inp = inp
        self._state: IncidentState | None = inp.state
        self._pending: list[TimelineEvent] = []
        self._projected_version = inp.state.version if inp.state else -1
        self._indexed: tuple[str, ...] = ()
        self._pager = Pager(self)
        self._escalation = EscalationFlow(self, self._pager)
        self._analysis = AnalysisFlow(self.record, self._pager.post_update,
                                      inp.state.analysis if inp.state else None)
        self._ladder: asyncio.Task | None = None
        self._background: list[asyncio.Task] = []

    # ---- main line -----------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: IncidentInput) -> IncidentState:
        await workflow.wait_condition(lambda: self._state is not None)
        self._start_background(fresh=inp.state is None)
        while True:
            await self._project()
            if self._state.status is IncidentStatus.RESOLVED and await self._flap_window_passed():
                break
            if self._history_too_long():
                await self._finish_background(handing_over=True)
                await self._drain_handlers()
                workflow.continue_as_new(self._carry_over())
            if self._state.status.is_open:
                await workflow.wait_condition(lambda: bool(self._pending) or self._history_too_long())
        self._emit(EventKind.CLOSED, "closed: no alert fired again within the flap window")
        await self._finish_background()
        await self._drain_handlers()
        return self._state

    async def _drain_handlers(self) -> None:
        """Project until every update handler has finished, then once more.

        An update answers only once the read model shows its effect (`_record_command`), so
        waiting for handlers without projecting meanwhile would deadlock an update that
        arrived while the workflow was closing or about to continue-as-new.
        """
        if not workflow.patched(PATCH_DRAIN_PROJECTING):
            await workflow.wait_condition(workflow.all_handlers_finished)  # the old, deadlocking way
        while not workflow.all_handlers_finished():
            await self._project()
            await workflow.wait_condition(
                lambda: bool(self._pending) or workflow.all_handlers_finished())
        await self._project()

    def _start_background(self, fresh: bool) -> None:
        """The ladder climbs in the background; a fresh incident also starts its analysis."""
        if self._state.escalation.round == 0:
            self._escalation.start_round()
        self._escalation.resume_pages()  # pages a previous run handed over at continue-as-new
        self._ladder = asyncio.create_task(self._escalation.run())
        if fresh:
            self._spawn(self._analyze(self._analysis.on_opened))
        if adopts(self._state, fresh):  # a root that opened after its symptoms silences them
            self._spawn(tell_symptoms(self._state, self.record))

    async def _finish_background(self, handing_over: bool = False) -> None:
        """Stop the ladder and pending pages (kept for the next run when `handing_over`), and
        wait for every background task."""
        await (self._escalation.hand_over() if handing_over else self._escalation.stop())
        if self._ladder is not None:
            await self._ladder
        while self._background:
            jobs, self._background = self._background, []
            await asyncio.gather(*jobs)

    async def _analyze(self, hook: Callable[[IncidentState], Awaitable[AnalysisProgress]]) -> None:
        """Run one analysis hook (it never raises for analysis failures) and keep its progress."""
        progress = await hook(self._state)
        self._state = self._state.model_copy(update={"analysis": progress})

    def _spawn(self, job: Coroutine) -> None:
        self._background.append(asyncio.create_task(job))

    def _follow_up(self, happened: list[Happening]) -> None:
        """React to lifecycle moments: a reopen restarts the ladder; hooks run in the background."""
        for h in happened:
            if h.kind is EventKind.REOPENED:
                self._escalation.start_round()
            elif h.kind is EventKind.ACKNOWLEDGED:
                self._spawn(self._analyze(self._analysis.on_acknowledged))
                self._spawn(self._pager.post_update(f"acknowledged by {h.actor.label}"))
            elif h.kind in (EventKind.RESOLVED, EventKind.AUTO_RESOLVED):
                self._spawn(self._analyze(self._analysis.on_resolved))
                self._spawn(self._pager.post_update(h.summary))

    # ---- the host the flows see (workflows.paging.IncidentHost) --------------------------------

    def incident(self) -> IncidentState:
        return self._state

    def save_escalation(self, progress: EscalationProgress) -> None:
        self._state = self._state.model_copy(update={"escalation": progress})

    def record(self, kind: EventKind, summary: str, details: dict[str, str] | None = None) -> None:
        self._emit(kind, summary, details=details)

    async def _flap_window_passed(self) -> bool:
        try:
            await workflow.wait_condition(
                lambda: bool(self._pending) or self._state.status.is_open,
                timeout=self._inp.flap_window,
                timeout_summary="flap-window",
            )
            return False
        except TimeoutError:
            return True

    def _history_too_long(self) -> bool:
        info = workflow.info()
        return info.is_continue_as_new_suggested() or info.get_current_history_length() > MAX_HISTORY_EVENTS

    def _carry_over(self) -> IncidentInput:
        return IncidentInput(dedup_key=self._inp.dedup_key, route=self._inp.route,
                             flap_window=self._inp.flap_window, state=self._state)

    async def _project(self) -> None:
        """Write the snapshot and pending timeline events to the read model (idempotent)."""
        if not self._pending and self._projected_version == self._state.version:
            return
        events, self._pending = self._pending, []
        state = self._state
        number = await workflow.execute_activity(
            fx.RECORD_INCIDENT.name,
            RecordIncident(workflow_id=workflow.info().workflow_id, state=state, events=events),
            result_type=int,
            summary=f"record v{state.version}",
            **fx.RECORD_INCIDENT.options(),
        )
        if number and not self._state.number:
            self._state = self._state.model_copy(update={"number": number})
        self._projected_version = max(self._projected_version, state.version)
        self._index()

    def _index(self) -> None:
        """Keep the Temporal UI's search attributes and memo in step with the state."""
        s = self._state
        current = (s.status.value, s.severity.value, s.service, s.env, s.title)
        if current == self._indexed:
            return
        workflow.upsert_search_attributes([
            SA_STATUS.value_set(s.status.value), SA_SEVERITY.value_set(s.severity.value),
            SA_SERVICE.value_set(s.service or "-"), SA_ENV.value_set(s.env or "-"),
        ])
        workflow.upsert_memo({MEMO_TITLE: s.title})
        self._indexed = current

    # ---- facts: signals --------------------------------------------------------------------

    @workflow.signal(name="alerts")
    def on_alerts(self, batch: AlertBatch) -> None:
        if not batch.changes and not batch.repeats:
            return
        if self._state is None:
            if not batch.changes:
                return
            first = batch.changes[0]
            self._state = open_incident(str(workflow.uuid4()), self._inp.dedup_key,
                                        self._inp.route, first, workflow.now())
            self._emit(EventKind.OPENED, f"incident opened by alert: {first.title}",
                       details={"dedup_key": self._inp.dedup_key, "route": self._inp.route.route_id,
                                "group_by": ",".join(self._inp.route.group_by)})
        state, happened = apply_alerts(self._state, batch, workflow.now())
        self._commit(state, happened)

    @workflow.signal(name=LINK_SIGNAL)
    def on_link_to_root(self, link: LinkToRoot) -> None:
        """A root incident that opened later adopts this one: stop paging (see cascade_links).

        The opening alert always precedes this signal (signal-with-start), so state exists.
        """
        if self._state is None or not workflow.patched(ADOPT_PATCH):
            return
        state, happened = linked_to_root(self._state, link)
        if happened:
            self._commit(state, happened)

    @workflow.signal(name=QUEUED_COMMAND_SIGNAL)
    async def on_queued_command(self, queued: QueuedCommand) -> None:
        """A command no worker answered in time, so it came durably (see queued_commands)."""
        await workflow.wait_condition(lambda: self._state is not None)
        found = resolve_queued(self, queued)
        if found is None:
            self._emit(EventKind.NOTE, f"queued command {queued.update!r} is unknown; ignored")
            return
        cmd, validate, handle = found
        try:
            validate(cmd)
        except ApplicationError as err:
            self._emit(EventKind.NOTE, f"{queued.update} by {cmd.actor.label}, sent while no "
                       f"worker was running, was not applied: {err.message}", cmd.actor)
            return
        await handle(cmd)

    # ---- commands: updates -----------------------------------------------------------------

    @workflow.update(name="acknowledge")
    async def acknowledge(self, cmd: Acknowledge) -> CommandResult:
        return await self._transition(cmd, Transition.ACKNOWLEDGE, EventKind.ACKNOWLEDGED,
                                      f"acknowledged{_suffix(cmd.note)}")

    @acknowledge.validator
    def _check_acknowledge(self, cmd: Acknowledge) -> None:
        self._check(cmd, Transition.ACKNOWLEDGE)

    @workflow.update(name="resolve")
    async def resolve(self, cmd: Resolve) -> CommandResult:
        return await self._transition(cmd, Transition.RESOLVE, EventKind.RESOLVED,
                                      f"resolved{_suffix(cmd.note)}")

    @resolve.validator
    def _check_resolve(self, cmd: Resolve) -> None:
        self._check(cmd, Transition.RESOLVE)

    @workflow.update(name="reopen")
    async def reopen(self, cmd: Reopen) -> CommandResult:
        return await self._transition(cmd, Transition.REOPEN, EventKind.REOPENED,
                                      f"reopened{_suffix(cmd.reason)}")

    @reopen.validator
    def _check_reopen(self, cmd: Reopen) -> None:
        self._check(cmd, Transition.REOPEN)

    @workflow.update(name="add_note")
    async def add_note(self, cmd: AddNote) -> CommandResult:
        await self._opened(cmd, None)
        return await self._record_command(cmd, self._state, [
            Happening(kind=EventKind.NOTE, summary=cmd.text, actor=cmd.actor)])

    @add_note.validator
    def _check_add_note(self, cmd: AddNote) -> None:
        self._check(cmd, None)
        if not cmd.text.strip():
            raise ApplicationError("a note needs text", type="InvalidCommand", non_retryable=True)

    @workflow.update(name="change_severity")
    async def change_severity(self, cmd: ChangeSeverity) -> CommandResult:
        await self._opened(cmd, None)
        before = self._state.severity
        state = self._state.model_copy(update={"severity": cmd.severity, "severity_pinned": True})
        return await self._record_command(cmd, state, [Happening(
            kind=EventKind.SEVERITY_CHANGED, actor=cmd.actor,
            summary=f"severity {before.value} → {cmd.severity.value}{_suffix(cmd.reason)}",
            details={"from": before.value, "to": cmd.severity.value})])

    @change_severity.validator
    def _check_change_severity(self, cmd: ChangeSeverity) -> None:
        self._check(cmd, None)
        if self._is_repeat(cmd):
            return
        if cmd.severity is self._state.severity:
            raise ApplicationError(f"severity is already {cmd.severity.value}",
                                   type="IllegalTransition", non_retryable=True)

    @workflow.update(name="escalate")
    async def escalate(self, cmd: Escalate) -> CommandResult:
        await self._opened(cmd, None)
        if not self._is_repeat(cmd):
            self._escalation.escalate_now()
        return await self._record_command(cmd, self._state, [Happening(
            kind=EventKind.ESCALATED, actor=cmd.actor,
            summary=f"escalated by hand{_suffix(cmd.reason)}")])

    @escalate.validator
    def _check_escalate(self, cmd: Escalate) -> None:
        self._check_climbing(cmd, "escalate")

    @workflow.update(name="snooze")
    async def snooze(self, cmd: Snooze) -> CommandResult:
        await self._opened(cmd, None)
        if self._is_repeat(cmd):
            return self._result(changed=False)
        until = self._escalation.snooze(cmd.minutes)
        return await self._record_command(cmd, self._state, [Happening(
            kind=EventKind.SNOOZED, actor=cmd.actor,
            summary=f"escalation snoozed for {cmd.minutes} min",
            details={"until": until.isoformat(), "minutes": str(cmd.minutes)})])

    @snooze.validator
    def _check_snooze(self, cmd: Snooze) -> None:
        if not 1 <= cmd.minutes <= MAX_SNOOZE_MINUTES:
            raise ApplicationError(f"snooze between 1 and {MAX_SNOOZE_MINUTES} minutes",
                                   type="InvalidCommand", non_retryable=True)
        self._check_climbing(cmd, "snooze")

    @workflow.update(name="reassign")
    async def reassign(self, cmd: Reassign) -> CommandResult:
        await self._opened(cmd, None)
        if self._is_repeat(cmd):
            return self._result(changed=False)
        await self._escalation.reassign(cmd.user_id)
        return await self._record_command(cmd, self._state, [Happening(
            kind=EventKind.REASSIGNED, actor=cmd.actor,
            summary=f"reassigned to {cmd.user_id}{_suffix(cmd.reason)}",
            details={"user": cmd.user_id})])

    @reassign.validator
    def _check_reassign(self, cmd: Reassign) -> None:
        self._check(cmd, None)
        if self._state is None or self._is_repeat(cmd):
            return
        if not cmd.user_id.strip():
            raise ApplicationError("reassign needs a user id", type="InvalidCommand", non_retryable=True)
        if not self._state.status.is_open:
            raise ApplicationError("cannot reassign a resolved incident", type="IllegalTransition",
                                   non_retryable=True)
        if cmd.user_id == self._state.escalation.assignee:
            raise ApplicationError(f"already assigned to {cmd.user_id}", type="IllegalTransition",
                                   non_retryable=True)

    @workflow.query(name="state")
    def state(self) -> IncidentState | None:
        return self._state

    # ---- helpers ---------------------------------------------------------------------------

    def _check(self, cmd: Command, t: Transition | None) -> None:
        """Validator body: refuse commands for another or unknown incident, or illegal now."""
        if self._state is None:
            return  # the opening signal is in the same activation: the handler waits for it
        if cmd.incident_id and cmd.incident_id != self._state.incident_id:
            raise ApplicationError(f"incident {cmd.incident_id} is closed", type="IncidentClosed",
                                   non_retryable=True)
        if t is None or self._is_repeat(cmd):
            return
        try:
            next_status(self._state.status, t)
        except ValueError as err:
            raise ApplicationError(str(err), type="IllegalTransition", non_retryable=True) from err

    def _check_climbing(self, cmd: Command, verb: str) -> None:
        """Validator body for ladder commands: only while the ladder is climbing."""
        self._check(cmd, None)
        if self._state is None or self._is_repeat(cmd):
            return
        if self._state.status is not IncidentStatus.TRIGGERED:
            raise ApplicationError(f"cannot {verb} an incident that is {self._state.status.value}",
                                   type="IllegalTransition", non_retryable=True)
        if not self._escalation.climbing:
            raise ApplicationError(f"cannot {verb}: no escalation is running (no policy, or the "
                                   "ladder is exhausted)", type="IllegalTransition", non_retryable=True)

    async def _opened(self, cmd: Command, t: Transition | None) -> None:
        """Wait for the opening alert, then re-check what the validator could not yet see."""
        if self._state is None:
            await workflow.wait_condition(lambda: self._state is not None)
            self._check(cmd, t)

    def _is_repeat(self, cmd: Command) -> bool:
        return bool(cmd.request_id) and cmd.request_id in self._state.handled_update_ids

    async def _transition(self, cmd: Command, t: Transition, kind: EventKind, summary: str) -> CommandResult:
        await self._opened(cmd, t)
        if self._is_repeat(cmd):
            return self._result(changed=False)
        state = transition(self._state, t, cmd.actor, workflow.now())
        return await self._record_command(cmd, state, [Happening(kind=kind, summary=summary, actor=cmd.actor)])

    async def _record_command(self, cmd: Command, state: IncidentState, happened: list[Happening]) -> CommandResult:
        """Commit a command's effect and answer once the read model shows it."""
        if self._is_repeat(cmd):
            return self._result(changed=False)
        if cmd.request_id:
            ids = (state.handled_update_ids + [cmd.request_id])[-HANDLED_IDS_KEPT:]
            state = state.model_copy(update={"handled_update_ids": ids})
        self._commit(state, happened)
        version = self._state.version
        await workflow.wait_condition(lambda: self._projected_version >= version)
        return self._result()

    def _commit(self, state: IncidentState, happened: list[Happening]) -> None:
        self._state = state.model_copy(update={"version": state.version + 1})
        for h in happened:
            self._emit(h.kind, h.summary, h.actor, h.details)
        self._follow_up(happened)

    def _emit(self, kind: EventKind, summary: str, actor: Actor | None = None,
              details: dict[str, str] | None = None) -> None:
        seq = self._state.timeline_seq + 1
        self._state = self._state.model_copy(update={"timeline_seq": seq})
        self._pending.append(TimelineEvent(seq=seq, at=workflow.now(), kind=kind,
                                           actor=actor or Actor(), summary=summary,
                                           details=details or {}))

    def _result(self, changed: bool = True) -> CommandResult:
        s = self._state
        return CommandResult(incident_id=s.incident_id, status=s.status, severity=s.severity,
                             version=s.version, changed=changed)


def _suffix(text: str) -> str:
    return f": {text}" if text else ""

