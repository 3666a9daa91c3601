"""The escalation ladder inside IncidentWorkflow: whom to page, when, and when to stop.

`EscalationFlow.run` is a background task the workflow starts once per run. It climbs while the
incident is triggered: wait on a durable timer until the next step is due, read who is on call
*now* (`oncall.snapshot`, so a handoff during the incident pages the new person), page every
person through the `Pager`, plan the next step. Acknowledge or resolve wakes every timer and
every pending personal-rule delay at once; `escalate` makes the next step due now; `snooze`
pauses until its end; `reassign` pages the new assignee at once and adds them to later steps.
After the last cycle with no ack the ladder is exhausted: `EXHAUSTED` in the timeline, and the
team's Slack channel and fallback target are told. Where it stands is `IncidentState.escalation`
(carried across continue-as-new). Timing follows `workflows.domain.escalation.plan_ladder`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import datetime, timedelta

from pydantic import Field
from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflows import side_effects as fx
    from workflows.domain.base import Frozen, Severity
    from workflows.domain.config import EscalationPolicy, Target, User
    from workflows.domain.escalation import (
        PendingPage,
        PlannedStep,
        SeverityAdjustments,
        contact_plan,
        plan_ladder,
    )
    from workflows.domain.incidents import EscalationProgress
    from workflows.domain.lifecycle import IncidentStatus
    from workflows.domain.timeline import EventKind
    from workflows.paging import IncidentHost, PagePoint, Pager

# When the on-call configuration cannot be read, try the step again after this long.
SNAPSHOT_RETRY_AFTER = timedelta(minutes=1)
# Runs recorded before pending personal-rule pages were carried over replay without it.
CARRY_PAGES_PATCH = "carry-pending-pages"


class OncallRequest(Frozen):
    """Input of `oncall.snapshot`: the policy and the people it reaches at instant `at`."""

    policy_id: str
    severity: Severity
    at: datetime
    team: str = ""
    user_ids: list[str] = Field(default_factory=list)  # extra people (the assignee)


class OncallSnapshot(Frozen):
    """Only what the ladder needs at `at`: never the whole configuration.

    `resolved` maps each of the policy's targets (`target_key`) to the user ids it reaches at
    that instant; `users` holds those people (contact methods, rules, business hours, tz).
    """

    policy: EscalationPolicy | None = None
    adjustments: SeverityAdjustments = SeverityAdjustments()
    default_repeat: int = 3
    resolved: dict[str, list[str]] = Field(default_factory=dict)
    team_fallback: list[str] = Field(default_factory=list)
    team_channel: str = ""
    users: list[User] = Field(default_factory=list)
    link_base: str = ""

    def people(self, user_ids: list[str]) -> list[User]:
        by_id = {u.id: u for u in self.users}
        return [by_id[u] for u in dict.fromkeys(user_ids) if u in by_id]

    def reached_by(self, targets: list[Target]) -> list[User]:
        """Whom a step reaches; the team's fallback when its targets resolve to nobody."""
        ids = [u for t in targets for u in self.resolved.get(target_key(t), [])]
        return self.people(ids) or self.people(self.team_fallback)


def target_key(target: Target) -> str:
    return f"{target.kind}:{target.ref}"


class EscalationFlow:
    def __init__(self, host: IncidentHost, pager: Pager) -> None:
        self._host = host
        self._pager = pager
        self._wake = 0  # bumped by commands so a waiting timer re-plans
        self._stopping = False
        self._tasks: list[asyncio.Task] = []
        self._pages: list[tuple[PendingPage, list]] = []  # each page and its contacts still to go

    # ---- lifecycle, called by the workflow ------------------------------------------------

    def start_round(self) -> None:
        """A new ladder from step 0: when the incident opens, and again when it reopens."""
        p = self._progress
        self._save(EscalationProgress(round=p.round + 1, started_at=workflow.now(),
                                      threads=p.threads, updates_posted=p.updates_posted,
                                      assignee=p.assignee, reassignments=p.reassignments))

    async def run(self) -> None:
        """Climb whenever the incident is triggered, until `stop()`."""
        while True:
            await workflow.wait_condition(lambda: self._stopping or self.climbing)
            if self._stopping:
                return
            await self._advance()

    async def stop(self) -> None:
        """End the ladder and every pending page (before the workflow closes)."""
        self._stopping = True
        await asyncio.gather(*self._tasks)

    async def hand_over(self) -> None:
        """Stop for continue-as-new, keeping pages still waiting on a personal-rule delay in
        `EscalationProgress.pending_pages`, so the next run sends them when they fall due."""
        await self.stop()
        if not workflow.patched(CARRY_PAGES_PATCH):
            return
        waiting = [page.model_copy(update={"contacts": list(rest)}) for page, rest in self._pages
                   if rest and self._still_wanted(page)]
        self._save(self._progress.model_copy(update={"pending_pages": waiting}))

    def resume_pages(self) -> None:
        """Send, in this run, what the previous run handed over (see `hand_over`)."""
        pending = self._progress.pending_pages
        if not pending:
            return
        self._save(self._progress.model_copy(update={"pending_pages": []}))
        for page in pending:
            self._start_page(page)

    @property
    def enabled(self) -> bool:
        route = self._host.incident().route
        return bool(route.escalation_policy_id) and not getattr(route, "suppress_paging", False)

    @property
    def climbing(self) -> bool:
        p = self._progress
        return (self.enabled and p.started_at is not None and not p.finished
                and self._host.incident().status is IncidentStatus.TRIGGERED)

    # ---- commands (the workflow's update handlers call these after validation) -------------

    def escalate_now(self) -> None:
        self._save(self._progress.model_copy(update={"next_due": workflow.now(),
                                                     "snoozed_until": None}))

    def snooze(self, minutes: int) -> datetime:
        until = workflow.now() + timedelta(minutes=minutes)
        due = max(self._progress.next_due or until, until)
        self._save(self._progress.model_copy(update={"snoozed_until": until, "next_due": due}))
        return until

    async def reassign(self, user_id: str) -> None:
        """Page `user_id` now and on every later step; refuses (fails the update) if unknown."""
        snapshot = await self._snapshot(workflow.now(), [user_id])
        people = snapshot.people([user_id])
        if not people:
            raise ApplicationError(f"no user {user_id!r} in the applied configuration",
                                   type="UnknownUser", non_retryable=True)
        p = self._progress
        self._save(p.model_copy(update={"assignee": user_id, "reassignments": p.reassignments + 1}))
        point = PagePoint(key_base=self._key_base(), cycle=p.reassignments + 1, step=-2,
                          label=f"reassigned to {user_id}")
        self._page_people(people, snapshot, point)

    # ---- the ladder ------------------------------------------------------------------------

    async def _advance(self) -> None:
        p, now = self._progress, workflow.now()
        if p.snoozed_until and now < p.snoozed_until:
            return await self._sleep_until(p.snoozed_until, "snoozed")
        if p.next_due and now < p.next_due:
            return await self._sleep_until(p.next_due, f"escalation step {p.next_index}")
        try:
            snapshot = await self._snapshot(now)
        except ActivityError as err:
            self._host.record(EventKind.PAGE_FAILED, f"on-call lookup failed: {err.cause or err}")
            return self._save(p.model_copy(update={"next_due": now + SNAPSHOT_RETRY_AFTER}))
        plan = self._plan(snapshot)
        if not self.climbing:
            return  # acknowledged or resolved while the lookup ran
        if not plan:
            self._host.record(EventKind.PAGE_FAILED, "escalation policy not found; nobody paged",
                              {"policy": self._host.incident().route.escalation_policy_id})
            return self._save(p.model_copy(update={"finished": True}))
        if p.next_due is None and p.started_at + plan[0].offset > now:
            return self._save(p.model_copy(update={"next_due": p.started_at + plan[0].offset}))
        if p.next_index >= len(plan):
            return await self._exhaust(snapshot, plan[-1].cycle + 1)
        self._fire(plan[p.next_index], snapshot)
        self._plan_next(plan, snapshot, now)

    def _plan(self, snapshot: OncallSnapshot) -> list[PlannedStep]:
        if snapshot.policy is None:
            return []
        return plan_ladder(snapshot.policy, self._host.incident().severity, snapshot.adjustments,
                           snapshot.default_repeat)

    def _plan_next(self, plan: list[PlannedStep], snapshot: OncallSnapshot, now: datetime) -> None:
        p = self._progress
        step = plan[p.next_index]
        if step.digest:
            return self._save(p.model_copy(update={"finished": True, "next_index": len(plan)}))
        following = plan[p.next_index + 1] if p.next_index + 1 < len(plan) else None
        if following is not None:
            gap = following.offset - step.offset
        else:  # the pause after the last cycle, before the ladder counts as exhausted
            cadence = snapshot.adjustments.for_severity(self._host.incident().severity).cadence
            gap = min(snapshot.policy.repeat_after or cadence, cadence)
        self._save(p.model_copy(update={"next_index": p.next_index + 1, "next_due": now + gap}))

    def _fire(self, step: PlannedStep, snapshot: OncallSnapshot) -> None:
        p = self._progress
        people = snapshot.reached_by(step.targets) + snapshot.people([p.assignee] if p.assignee else [])
        people = list({u.id: u for u in people}.values())
        names = ", ".join(u.id for u in people) or "nobody"
        label = f"cycle {step.cycle + 1}, step {step.step_index + 1}"
        if step.digest:
            self._host.record(EventKind.PAGED, f"low severity: in the digest for {names}; "
                              "no escalation", {"mode": "digest", "users": names})
            return
        if step.cycle or step.step_index:
            self._host.record(EventKind.ESCALATED, f"escalated to {label}: {names}",
                              {"cycle": str(step.cycle), "step": str(step.step_index),
                               "targets": ",".join(target_key(t) for t in step.targets)})
        if not people:
            self._host.record(EventKind.PAGE_FAILED, f"{label} reached nobody (no one on call)",
                              {"cycle": str(step.cycle), "step": str(step.step_index)})
            return
        point = PagePoint(key_base=self._key_base(), cycle=step.cycle, step=step.step_index,
                          label=label)
        self._page_people(people, snapshot, point)

    async def _exhaust(self, snapshot: OncallSnapshot, cycles: int) -> None:
        self._save(self._progress.model_copy(update={"finished": True, "exhausted": True}))
        fallback = snapshot.people(snapshot.team_fallback)
        told = [f"#{snapshot.team_channel}"] if snapshot.team_channel else []
        told += [u.id for u in fallback]
        self._host.record(EventKind.EXHAUSTED,
                          f"unacknowledged after {cycles} cycle(s); told {', '.join(told) or 'nobody'}",
                          {"cycles": str(cycles), "told": ",".join(told)})
        point = PagePoint(key_base=self._key_base(), cycle=cycles, step=-1,
                          label=f"unacknowledged after {cycles} cycle(s)")
        if snapshot.team_channel:
            self._spawn(self._pager.tell_channel(snapshot.team_channel, point.label, point))
        self._page_people(fallback, snapshot, point, stop_on_ack=False)

    # ---- helpers ---------------------------------------------------------------------------

    def _page_people(self, people: list[User], snapshot: OncallSnapshot, point: PagePoint,
                     stop_on_ack: bool = True) -> None:
        severity = self._host.incident().severity
        now = workflow.now()
        self._pager.link_base = snapshot.link_base
        for user in people:
            contacts = contact_plan(user, severity, now, snapshot.adjustments)
            self._start_page(PendingPage(user=user, contacts=contacts, point=point, started=now,
                                         stop_on_ack=stop_on_ack))

    def _start_page(self, page: PendingPage) -> None:
        rest = list(page.contacts)  # emptied by the pager as each contact is attempted
        self._pages = [(p, r) for p, r in self._pages if r] + [(page, rest)]
        self._spawn(self._pager.page(page.user, page.contacts, page.point,
                                     lambda: self._stopping or not self._still_wanted(page),
                                     started=page.started, remaining=rest))

    def _still_wanted(self, page: PendingPage) -> bool:
        """Whether `page`'s later contacts should still go out (the ladder aside).

        A ladder page stops on ack, snooze, or adoption by a root incident (`not enabled`:
        `link_to_root`); an exhausted ladder's fallback page stops only when the incident ends.
        """
        if not page.stop_on_ack:
            return self._host.incident().status.is_open
        p = self._progress
        snoozed = p.snoozed_until is not None and workflow.now() < p.snoozed_until
        return (not snoozed and self.enabled
                and self._host.incident().status is IncidentStatus.TRIGGERED)

    async def _sleep_until(self, due: datetime, summary: str) -> None:
        wake = self._wake
        try:
            await workflow.wait_condition(
                lambda: self._stopping or self._wake != wake or not self.climbing,
                timeout=due - workflow.now(), timeout_summary=summary)
        except TimeoutError:
            pass

    async def _snapshot(self, at: datetime, extra: list[str] | None = None) -> OncallSnapshot:
        s = self._host.incident()
        users = list(extra or []) + ([s.escalation.assignee] if s.escalation.assignee else [])
        request = OncallRequest(policy_id=s.route.escalation_policy_id, severity=s.severity,
                                at=at, team=s.route.team, user_ids=users)
        return await workflow.execute_activity(
            fx.ONCALL_SNAPSHOT.name, request, result_type=OncallSnapshot,
            summary=f"on-call for {request.policy_id}", **fx.ONCALL_SNAPSHOT.options())

    def _key_base(self) -> str:
        s = self._host.incident()
        return f"{workflow.info().workflow_id}:{s.incident_id}:r{s.escalation.round}"

    def _spawn(self, job: Coroutine) -> None:
        for task in self._tasks:
            if task.done():
                task.result()  # a bug in a page task fails the workflow task, visibly
        self._tasks = [t for t in self._tasks if not t.done()] + [asyncio.create_task(job)]

    @property
    def _progress(self) -> EscalationProgress:
        return self._host.incident().escalation

    def _save(self, progress: EscalationProgress) -> None:
        self._wake += 1
        self._host.save_escalation(progress)
