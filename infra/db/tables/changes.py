"""Change events (deploys, config changes) and evidence attached to incidents.

Both are inputs to diagnosis: the analyzer weighs a change on a service shortly before its
anomaly, and reads logs and metric snapshots people attached to the incident.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel


class ChangeEventRow(SQLModel, table=True):
    """One change. `id` derives from its content, so a CI system retrying a post stores it once."""

    __tablename__ = "change_events"
    __table_args__ = (Index("ix_change_events_service_time", "service", "time"),)

    id: str = Field(primary_key=True)
    time: datetime = Field(index=True)
    service: str
    kind: str
    description: str = ""
    ref: str = ""
    received_at: datetime
    key_id: str = ""


class IncidentAttachmentRow(SQLModel, table=True):
    """Logs and metric snapshots someone attached to an incident (redacted before storing)."""

    __tablename__ = "incident_attachments"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: str = Field(index=True)
    title: str = ""
    logs: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    metrics: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime
    created_by: str = ""
