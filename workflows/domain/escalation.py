"""Escalation semantics: when each step of a policy fires, whom it reaches, and how.

Pure planning for the incident workflow, which drives it with durable timers:

    started = escalation start (the incident's trigger time)
    for planned in plan_ladder(policy, severity, adjustments):
        sleep until started + planned.offset           # cancelled by ack / resolve
        now = workflow.now()
        if planned.digest: add the incident to the digest; stop
        for user_id in resolve_targets(planned.targets, config, now, fallback_team=route.team):
            for contact in contact_plan(user, severity, now, adjustments):
                send at now + contact.delay, keyed by
                idempotency_key(workflow_id, planned.cycle, planned.step_index, contact.method.id)

How a step's `after` composes with the severity cadence (the choice made here):
the policy's `after` values give the ladder's shape and are never stretched; the severity's
`cadence` is the longest anyone waits between two consecutive steps. So each step fires
`min(after_i - after_(i-1), cadence)` after the previous one (the first at `min(after_0,
cadence)`), and the next cycle starts `min(repeat_after or cadence, cadence)` after the last
step. With the defaults and a 0m/5m/15m policy: critical (3m) fires at 0, 3, 6 then 9, 12, 15...;
high (10m) at 0, 5, 15 then 25, 30, 40...; medium (30m) at 0, 5, 15 then 45, 50, 60..., each page
held until the responder's business hours; low goes to the digest and never escalates.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from pydantic import model_validator

from workflows.domain.base import Frozen, Severity, Strict
from workflows.domain.config import (
    ConfigDocument,
    ContactMethod,
    EscalationPolicy,
    NotificationRule,
    Target,
    Urgency,
    User,
)
from workflows.domain.config_types import Duration, zone
from workflows.domain.schedules import oncall_at


class SeverityAdjustment(Strict):
    """How one severity escalates. `cadence` caps the wait between steps (module docstring)."""

    cadence: Duration = timedelta(minutes=10)
    all_urgent_at_once: bool = False
    business_hours_only: bool = False
    digest: bool = False

    @model_validator(mode="after")
    def _positive_cadence(self) -> SeverityAdjustment:
        if self.cadence <= timedelta(0):
            raise ValueError("cadence must be longer than 0s")
        return self


class SeverityAdjustments(Strict):
    """The severity table; defaults follow the product's documented behaviour."""

    critical: SeverityAdjustment = SeverityAdjustment(
        cadence=timedelta(minutes=3), all_urgent_at_once=True
    )
    high: SeverityAdjustment = SeverityAdjustment(cadence=timedelta(minutes=10))
    medium: SeverityAdjustment = SeverityAdjustment(
        cadence=timedelta(minutes=30), business_hours_only=True
    )
    low: SeverityAdjustment = SeverityAdjustment(cadence=timedelta(hours=1), digest=True)

    def for_severity(self, severity: Severity) -> SeverityAdjustment:
        return getattr(self, severity.value)


DEFAULT_ADJUSTMENTS = SeverityAdjustments()


class PlannedStep(Frozen):
    """Step `step_index` of cycle `cycle` fires `offset` after escalation starts."""

    cycle: int
    step_index: int
    offset: timedelta
    targets: list[Target]
    digest: bool = False


class PlannedContact(Frozen):
    """Reach the person through `method`, `delay` after the step fires."""

    method: ContactMethod
    delay: timedelta


class PagePoint(Frozen):
    """Where in the ladder a page belongs: it names the idempotency key and the timeline text."""

    key_base: str
    cycle: int
    step: int
    label: str


class PendingPage(Frozen):
    """A page whose later personal-rule contacts had not fired when the run continued-as-new.

    `contacts` are only those still to go, with their delays from `started` (when the step
    fired), so the next run waits exactly the rest and keeps the same idempotency keys.
    """

    user: User
    contacts: list[PlannedContact]
    point: PagePoint
    started: datetime
    stop_on_ack: bool = True


def plan_ladder(
    policy: EscalationPolicy,
    severity: Severity,
    adjustments: SeverityAdjustments = DEFAULT_ADJUSTMENTS,
    default_repeat: int = 3,
) -> list[PlannedStep]:
    """Every step of every cycle, in firing order, with offsets from the escalation start.

    Deterministic in its inputs, so a replayed workflow plans the same ladder. A digest severity
    plans only the first step, marked `digest`, naming whom the digest goes to. A policy without
    `repeat` runs `default_repeat` cycles.
    """
    adjustment = adjustments.for_severity(severity)
    if adjustment.digest:
        first = policy.steps[0]
        return [PlannedStep(cycle=0, step_index=0, offset=timedelta(0), targets=first.notify,
                            digest=True)]
    cadence = adjustment.cadence
    offsets: list[timedelta] = []
    previous_after = timedelta(0)
    for step in policy.steps:
        gap = min(step.after - previous_after, cadence)
        offsets.append((offsets[-1] if offsets else timedelta(0)) + gap)
        previous_after = step.after
    cycle_length = offsets[-1] + min(policy.repeat_after or cadence, cadence)
    return [
        PlannedStep(cycle=cycle, step_index=index, offset=cycle * cycle_length + offset,
                    targets=step.notify)
        for cycle in range(policy.repeat or default_repeat)
        for index, (step, offset) in enumerate(zip(policy.steps, offsets, strict=True))
    ]


def resolve_targets(
    step_targets: list[Target], config: ConfigDocument, at: datetime, *, fallback_team: str = ""
) -> list[str]:
    """User ids to page for a step firing at `at`, in target order, without repeats.

    Schedules are resolved at `at` (call this when the step fires, so a handoff during the
    incident pages the new person); teams mean all their members. When that yields nobody and
    `fallback_team` names a team with a `fallback` target, that target is resolved instead.
    Unknown references resolve to nobody (`validate_references` reports them).
    """
    users = _resolve(step_targets, config, at)
    team = config.team(fallback_team) if fallback_team else None
    if not users and team is not None and team.fallback is not None:
        users = _resolve([team.fallback], config, at)
    return users


def _resolve(targets: list[Target], config: ConfigDocument, at: datetime) -> list[str]:
    found: list[str] = []
    for target in targets:
        if target.schedule is not None:
            schedule = config.schedule(target.schedule)
            found.extend(oncall_at(schedule, at) if schedule else [])
        elif target.user is not None:
            found.extend([target.user] if config.user(target.user) else [])
        else:
            team = config.team(target.team or "")
            found.extend(team.members if team else [])
    return list(dict.fromkeys(found))


def contact_plan(
    user: User,
    severity: Severity,
    at: datetime,
    adjustments: SeverityAdjustments = DEFAULT_ADJUSTMENTS,
) -> list[PlannedContact]:
    """How to reach `user` for a page at `at`: contact methods with delays, soonest first.

    The user's notification rules for this urgency apply (critical/high are high urgency); a user
    without rules is reached on every contact method at once. Critical also reaches every urgent
    method (not email or webhook) immediately. Business-hours-only severities hold every delay
    until the user's next business hours. Digest severities page nobody personally.
    """
    adjustment = adjustments.for_severity(severity)
    if adjustment.digest:
        return []
    urgency = Urgency.HIGH if severity.rank <= Severity.HIGH.rank else Urgency.LOW
    rules = user.notification_rules or [NotificationRule(method=m.id)
                                        for m in user.contact_methods]
    methods = {method.id: method for method in user.contact_methods}
    plan = [
        (methods[rule.method], rule.after)
        for rule in rules
        if rule.urgency in (Urgency.ANY, urgency) and rule.method in methods
    ]
    if adjustment.all_urgent_at_once:
        plan = [(m, timedelta(0) if m.kind.urgent else d) for m, d in plan]
        plan += [(m, timedelta(0)) for m in user.contact_methods if m.kind.urgent]
    hold = timedelta(0)
    if adjustment.business_hours_only:
        hold = next_business_start(user, at) - at
    unique = dict.fromkeys((m, d + hold) for m, d in plan)
    ordered = sorted(unique, key=lambda pair: pair[1])
    return [PlannedContact(method=m, delay=d) for m, d in ordered]


def within_business_hours(user: User, at: datetime) -> bool:
    """Whether `at` is inside the user's business hours, in the user's own time zone."""
    return user.business_hours.contains(zone(user.time_zone), at)


def next_business_start(user: User, at: datetime) -> datetime:
    """`at` itself during business hours, else when the user's business hours next begin.

    A user whose business hours name no days has none; then `at` is returned (never hold).
    """
    if within_business_hours(user, at):
        return at
    week_ahead = at + timedelta(days=8)
    upcoming = user.business_hours.occurrences(zone(user.time_zone), at, week_ahead)
    return upcoming[0].start if upcoming else at


_MAX_KEY = 200  # PagerDuty's dedup_key allows 255; leave room for a provider prefix.


def idempotency_key(workflow_id: str, cycle: int, step: int, contact_method_id: str) -> str:
    """The one key for a page: the same step, cycle and contact method always give the same key.

    Readable when short; long workflow ids are replaced by a hash so the key fits providers.
    """
    key = f"{workflow_id}/c{cycle}/s{step}/{contact_method_id}"
    if len(key) <= _MAX_KEY:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"page-{digest}/c{cycle}/s{step}"

