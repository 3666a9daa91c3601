"""AI triage results: classifications, diagnoses and post-mortem drafts, one row per answer.

Written only by the `record.analysis` activity; the API reads the latest of each kind. Every
row says which analyzer answered (`llm` or `local`) and, when the local one stood in, why, so
cost and quality are auditable per incident.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel


class AnalysisRow(SQLModel, table=True):
    """One analysis answer. `key` is unique so a retried record activity stores it once."""

    __tablename__ = "analyses"
    __table_args__ = (Index("ix_analyses_incident_kind", "incident_id", "kind", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    incident_id: str
    kind: str  # classification | diagnosis | postmortem
    created_at: datetime
    analyzer: str  # llm | local
    fallback_reason: str = ""
    tokens: int = 0
    cost_usd: float = 0.0
    content: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    markdown: str = ""
