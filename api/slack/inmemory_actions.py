"""An in-memory `IncidentActions`: a real implementation of the protocol with the product's
lifecycle rules, for demos, local runs without Temporal, and the chat-surface tests.

Every accepted command is appended to `log`; a repeated `request_id` acts once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from api.actions import ActionRefused, IncidentSummary
from workflows.domain.base import Actor, Severity
from workflows.domain.incidents import CommandResult
from workflows.domain.lifecycle import IllegalTransition, IncidentStatus, Transition, next_status


@dataclass
class _Incident:
    summary: IncidentSummary
    version: int = 0


@dataclass
class InMemoryIncidentActions:
    incidents: dict[str, _Incident] = field(default_factory=dict)
    log: list[tuple[str, str, str]] = field(default_factory=list)  # (verb, incident id, actor)
    _handled: dict[str, CommandResult] = field(default_factory=dict)

    def add(self, summary: IncidentSummary) -> None:
        self.incidents[summary.id] = _Incident(summary)

    def _find(self, ref: str) -> _Incident:
        ref = ref.lstrip("#")
        for incident in self.incidents.values():
            if incident.summary.id == ref or str(incident.summary.number) == ref:
                return incident
        raise ActionRefused(f"no incident {ref}")

    def _result(self, inc: _Incident, changed: bool = True) -> CommandResult:
        s = inc.summary
        return CommandResult(incident_id=s.id, status=s.status, severity=s.severity,
                             version=inc.version, changed=changed)

    async def _act(self, verb: str, ref: str, actor: Actor, request_id: str,
                   transition: Transition | None) -> CommandResult:
        if request_id and request_id in self._handled:
            return self._handled[request_id].model_copy(update={"changed": False})
        inc = self._find(ref)
        if transition is not None:
            try:
                status = next_status(inc.summary.status, transition)
            except IllegalTransition as exc:
                raise ActionRefused(str(exc)) from exc
            inc.summary = inc.summary.model_copy(update={"status": status})
        elif not inc.summary.status.is_open:
            raise ActionRefused(f"cannot {verb} a resolved incident")
        inc.version += 1
        self.log.append((verb, inc.summary.id, actor.id))
        result = self._result(inc)
        if request_id:
            self._handled[request_id] = result
        return result

    async def acknowledge(self, incident_ref: str, actor: Actor, request_id: str) -> CommandResult:
        return await self._act("ack", incident_ref, actor, request_id, Transition.ACKNOWLEDGE)

    async def resolve(self, incident_ref: str, actor: Actor, request_id: str) -> CommandResult:
        return await self._act("resolve", incident_ref, actor, request_id, Transition.RESOLVE)

    async def escalate(self, incident_ref: str, actor: Actor, request_id: str) -> CommandResult:
        return await self._act("escalate", incident_ref, actor, request_id, None)

    async def snooze(self, incident_ref: str, actor: Actor, request_id: str,
                     minutes: int) -> CommandResult:
        return await self._act(f"snooze:{minutes}", incident_ref, actor, request_id, None)

    async def approve(self, incident_ref: str, actor: Actor, request_id: str,
                      proposal_id: str) -> CommandResult:
        return await self._act(f"approve:{proposal_id}", incident_ref, actor, request_id, None)

    async def declare(self, title: str, severity: Severity, actor: Actor) -> IncidentSummary:
        number = max((i.summary.number for i in self.incidents.values()), default=0) + 1
        summary = IncidentSummary(id=f"inc-{number}", number=number, title=title,
                                  status=IncidentStatus.TRIGGERED, severity=severity)
        self.add(summary)
        self.log.append(("declare", summary.id, actor.id))
        return summary

    async def list_open(self, limit: int = 20) -> list[IncidentSummary]:
        open_ = [i.summary for i in self.incidents.values() if i.summary.status.is_open]
        return sorted(open_, key=lambda s: s.number)[:limit]
