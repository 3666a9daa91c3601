"""Incident lifecycle: which command is legal in which status.

    triggered ──ack──▶ acknowledged ──resolve──▶ resolved
        │  ▲                                        │
        │  └──────────────── reopen ────────────────┘
        └──────────resolve──────────▶ resolved
"""

from __future__ import annotations

from enum import StrEnum


class IncidentStatus(StrEnum):
    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"

    @property
    def is_open(self) -> bool:
        return self is not IncidentStatus.RESOLVED


class Transition(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"
    REOPEN = "reopen"


class IllegalTransition(ValueError):
    """A command that the incident's current status does not allow. Retrying cannot help."""


_ALLOWED: dict[Transition, dict[IncidentStatus, IncidentStatus]] = {
    Transition.ACKNOWLEDGE: {IncidentStatus.TRIGGERED: IncidentStatus.ACKNOWLEDGED},
    Transition.RESOLVE: {
        IncidentStatus.TRIGGERED: IncidentStatus.RESOLVED,
        IncidentStatus.ACKNOWLEDGED: IncidentStatus.RESOLVED,
    },
    Transition.REOPEN: {IncidentStatus.RESOLVED: IncidentStatus.TRIGGERED},
}


def next_status(current: IncidentStatus, transition: Transition) -> IncidentStatus:
    """The status after `transition`, or `IllegalTransition` naming why not."""
    target = _ALLOWED[transition].get(current)
    if target is None:
        raise IllegalTransition(f"cannot {transition.value} an incident that is {current.value}")
    return target
