"""What chat surfaces (Slack, SMS, voice) may ask of an incident.

Listeners depend on this Protocol, not on Temporal: the API wires the Temporal-backed
implementation (`api.temporal_actions`), tests may wire any real implementation.
`incident_ref` is an incident id or its short number ("42" or "#42").
"""

from __future__ import annotations

from typing import Protocol

from workflows.domain.base import Actor, Frozen, Severity
from workflows.domain.incidents import CommandResult
from workflows.domain.lifecycle import IncidentStatus


class IncidentSummary(Frozen):
    id: str
    number: int
    title: str
    status: IncidentStatus
    severity: Severity
    service: str = ""


class ActionRefused(Exception):
    """The command is not legal now (already acked, unknown incident). Retrying cannot help."""


class ActionQueued(Exception):
    """No worker answered in time: the command is stored durably and applies once one runs."""


class IncidentActions(Protocol):
    async def acknowledge(self, incident_ref: str, actor: Actor, request_id: str) -> CommandResult: ...

    async def resolve(self, incident_ref: str, actor: Actor, request_id: str) -> CommandResult: ...

    async def escalate(self, incident_ref: str, actor: Actor, request_id: str) -> CommandResult: ...

    async def snooze(
        self, incident_ref: str, actor: Actor, request_id: str, minutes: int
    ) -> CommandResult: ...

    async def approve(
        self, incident_ref: str, actor: Actor, request_id: str, proposal_id: str
    ) -> CommandResult: ...

    async def declare(self, title: str, severity: Severity, actor: Actor) -> IncidentSummary: ...

    async def list_open(self, limit: int = 20) -> list[IncidentSummary]: ...
