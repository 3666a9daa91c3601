"""Projection activities: write workflow state into the read model and the audit log."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from temporalio import activity

from infra.db.repositories import incidents
from workflows import side_effects as fx
from workflows.domain.timeline import RecordIncident


class RecordActivities:
    """Holds the engine; every method is idempotent so Temporal may retry it freely."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name=fx.RECORD_INCIDENT.name)
    async def record_incident(self, rec: RecordIncident) -> int:
        """Project one snapshot plus its new timeline events; returns the incident's number."""
        return await asyncio.to_thread(incidents.project, self._engine, rec, datetime.now(UTC))
