"""Pure rules for how alert facts and commands change an incident.

The workflow calls these and turns the returned `Happening`s into timeline events; keeping the
rules here makes them testable without Temporal.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from workflows.domain.alerts import AlertStatus
from workflows.domain.base import SYSTEM, Actor, Frozen, Severity
from workflows.domain.incidents import AlertBatch, AlertChange, IncidentState, Member, RouteDecision
from workflows.domain.lifecycle import IncidentStatus, Transition, next_status
from workflows.domain.timeline import EventKind

SEEN_IDS_KEPT = 500  # bounded dedup memory; the dispatcher never resends older ids


class Happening(Frozen):
    kind: EventKind
    summary: str
    actor: Actor = SYSTEM
    details: dict[str, str] = Field(default_factory=dict)


def open_incident(
    incident_id: str, dedup_key: str, route: RouteDecision, first: AlertChange, now: datetime
) -> IncidentState:
    """A new incident named after its first alert."""
    return IncidentState(
        incident_id=incident_id,
        dedup_key=dedup_key,
        title=first.title,
        service=first.service or route.service,
        env=first.env,
        severity=first.severity,
        opened_at=now,
        route=route,
    )


def apply_alerts(state: IncidentState, batch: AlertBatch, now: datetime) -> tuple[IncidentState, list[Happening]]:
    """Fold a batch of alert changes into the incident; returns the new state and what happened."""
    happened: list[Happening] = []
    seen = set(state.seen_alert_ids)
    members = dict(state.members)
    new_ids: list[str] = []
    for change in batch.changes:
        if change.alert_id in seen:
            continue  # a redelivered signal: already applied
        seen.add(change.alert_id)
        new_ids.append(change.alert_id)
        happened.append(_member_happening(members.get(change.fingerprint), change))
        members[change.fingerprint] = Member(
            fingerprint=change.fingerprint, status=change.status,
            title=change.title, severity=change.severity,
        )
    state = state.model_copy(update={
        "members": members,
        "alert_count": state.alert_count + len(new_ids),
        "repeat_count": state.repeat_count + batch.repeats,
        "seen_alert_ids": (state.seen_alert_ids + new_ids)[-SEEN_IDS_KEPT:],
    })
    if batch.repeats:
        happened.append(Happening(kind=EventKind.REPEATS_COALESCED,
                                  summary=f"{batch.repeats} repeated occurrence(s) coalesced"))
    state, more = _follow_alerts(state, now)
    return state, happened + more


def _member_happening(before: Member | None, change: AlertChange) -> Happening:
    details = {"alert_id": change.alert_id, "fingerprint": change.fingerprint,
               "reason": change.reason}
    if before is None:
        return Happening(kind=EventKind.ALERT_ATTACHED, details=details,
                         summary=f"alert attached: {change.title} ({change.reason})")
    if change.status is AlertStatus.RESOLVED:
        return Happening(kind=EventKind.ALERT_RESOLVED, details=details,
                         summary=f"alert resolved at source: {change.title}")
    return Happening(kind=EventKind.ALERT_REFIRED, details=details,
                     summary=f"alert firing again: {change.title}")


def _follow_alerts(state: IncidentState, now: datetime) -> tuple[IncidentState, list[Happening]]:
    """Severity follows the worst firing alert; all resolved auto-resolves; a refire reopens."""
    happened: list[Happening] = []
    firing = [m for m in state.members.values() if m.status is AlertStatus.FIRING]
    worst = Severity.most_urgent([m.severity for m in firing]) if firing else state.severity
    if not state.severity_pinned and firing and worst.rank < state.severity.rank:
        happened.append(Happening(kind=EventKind.SEVERITY_CHANGED,
                                  summary=f"severity raised to {worst.value} by a new alert",
                                  details={"from": state.severity.value, "to": worst.value}))
        state = state.model_copy(update={"severity": worst})
    if state.status is IncidentStatus.RESOLVED and firing:
        state = transition(state, Transition.REOPEN, SYSTEM, now)
        happened.append(Happening(kind=EventKind.REOPENED,
                                  summary="reopened: an alert fired again within the flap window"))
    elif state.status.is_open and not firing and state.route.auto_resolve and state.members:
        state = transition(state, Transition.RESOLVE, SYSTEM, now)
        happened.append(Happening(kind=EventKind.AUTO_RESOLVED,
                                  summary="resolved: every alert resolved at the source"))
    return state, happened


def transition(state: IncidentState, t: Transition, actor: Actor, now: datetime) -> IncidentState:
    """Apply a lifecycle transition (raises `IllegalTransition`), stamping who and when."""
    status = next_status(state.status, t)
    update: dict = {"status": status}
    if t is Transition.ACKNOWLEDGE:
        update |= {"acknowledged_at": now, "acknowledged_by": actor}
    elif t is Transition.RESOLVE:
        update |= {"resolved_at": now, "resolved_by": actor}
    else:  # reopen: a fresh triggered incident, acknowledgement must be given again
        update |= {"resolved_at": None, "resolved_by": None,
                   "acknowledged_at": None, "acknowledged_by": None}
    return state.model_copy(update=update)
