"""Timeline events: the append-only audit log's vocabulary."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from workflows.domain.base import SYSTEM, Actor, Frozen
from workflows.domain.incidents import IncidentState


class EventKind(StrEnum):
    OPENED = "opened"
    ALERT_ATTACHED = "alert_attached"
    ALERT_RESOLVED = "alert_resolved"
    ALERT_REFIRED = "alert_refired"
    REPEATS_COALESCED = "repeats_coalesced"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    AUTO_RESOLVED = "auto_resolved"
    REOPENED = "reopened"
    NOTE = "note"
    SEVERITY_CHANGED = "severity_changed"
    CLOSED = "closed"
    PAGED = "paged"
    PAGE_FAILED = "page_failed"
    ESCALATED = "escalated"
    SNOOZED = "snoozed"
    REASSIGNED = "reassigned"
    EXHAUSTED = "exhausted"
    CLASSIFIED = "classified"
    DIAGNOSED = "diagnosed"
    LINKED = "linked"
    POSTMORTEM = "postmortem"


class TimelineEvent(Frozen):
    """One line of the audit log: what happened, when, by whom, and why."""

    seq: int
    at: datetime
    kind: EventKind
    actor: Actor = SYSTEM
    summary: str
    details: dict[str, str] = Field(default_factory=dict)


class RecordIncident(Frozen):
    """Projection activity input: the state snapshot and the events since the last projection."""

    workflow_id: str
    state: IncidentState
    events: list[TimelineEvent] = Field(default_factory=list)
