"""The incident read model and the append-only timeline, written only by projection activities."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel


class IncidentRow(SQLModel, table=True):
    """Projection of one incident. `version` guards upserts: an older snapshot never wins."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_status_opened", "status", "opened_at"),)

    number: int | None = Field(default=None, primary_key=True)  # short id for humans: #42
    id: str = Field(unique=True, index=True)
    workflow_id: str = Field(index=True)
    dedup_key: str = Field(index=True)
    title: str
    status: str
    severity: str
    service: str = Field(default="", index=True)
    env: str = ""
    team: str = ""
    route_id: str = ""
    opened_at: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: str = ""
    resolved_at: datetime | None = None
    resolved_by: str = ""
    updated_at: datetime
    version: int = 0
    alert_count: int = 0
    firing_count: int = 0
    repeat_count: int = 0
    category: str = Field(default="", index=True)  # from AI triage (llm or local)
    exhausted: bool = False  # the escalation ladder ran out with no acknowledgement
    extra: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class IncidentMemberRow(SQLModel, table=True):
    """An alert identity attached to an incident."""

    __tablename__ = "incident_members"

    incident_id: str = Field(primary_key=True)
    fingerprint: str = Field(primary_key=True)
    status: str
    title: str
    severity: str


class TimelineEventRow(SQLModel, table=True):
    """Append-only audit log. (incident_id, seq) is unique so a retried projection adds nothing."""

    __tablename__ = "timeline_events"
    __table_args__ = (UniqueConstraint("incident_id", "seq", name="uq_timeline_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: str = Field(index=True)
    seq: int
    at: datetime
    kind: str
    actor_kind: str
    actor_id: str
    actor_name: str = ""
    summary: str
    details: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
