"""Chat commands shared by the Slack and Twilio surfaces: parse, perform, answer in text.

Performing goes through `IncidentActions` only; a refused command becomes an answer, never an
exception in a listener.
"""

from __future__ import annotations

import shlex
from enum import StrEnum

from api.actions import ActionQueued, ActionRefused, IncidentActions, IncidentSummary
from workflows.domain.base import Actor, Frozen, Severity

DEFAULT_SNOOZE_MINUTES = 30


class Verb(StrEnum):
    ACK = "ack"
    RESOLVE = "resolve"
    ESCALATE = "escalate"
    SNOOZE = "snooze"
    APPROVE = "approve"
    LIST = "list"
    DECLARE = "declare"
    HELP = "help"


class ChatCommand(Frozen):
    verb: Verb
    incident_ref: str = ""
    minutes: int = DEFAULT_SNOOZE_MINUTES
    proposal_id: str = ""
    title: str = ""
    severity: Severity = Severity.HIGH


USAGE = ('Usage: /incident list | ack N | resolve N | escalate N | snooze N [minutes] | '
         'declare "title" [critical|high|medium|low]')
_ALIASES = {"acknowledge": Verb.ACK, "res": Verb.RESOLVE, "esc": Verb.ESCALATE}


class BadCommand(ValueError):
    """The text is not a command; the answer is the usage line."""


def parse_command(text: str) -> ChatCommand:
    """Parse `/incident` text. Raises BadCommand with a human message."""
    try:
        words = shlex.split(text.strip())
    except ValueError as exc:
        raise BadCommand(f"Could not read that: {exc}. {USAGE}") from exc
    if not words:
        return ChatCommand(verb=Verb.HELP)
    head = words[0].lower()
    try:
        verb = _ALIASES.get(head) or Verb(head)
    except ValueError as exc:
        raise BadCommand(f"Unknown command {head!r}. {USAGE}") from exc
    if verb in (Verb.LIST, Verb.HELP):
        return ChatCommand(verb=verb)
    if verb is Verb.DECLARE:
        return _declare(words[1:])
    if len(words) < 2:
        raise BadCommand(f"Which incident? {USAGE}")
    minutes = int(words[2]) if verb is Verb.SNOOZE and len(words) > 2 and words[2].isdigit() \
        else DEFAULT_SNOOZE_MINUTES
    return ChatCommand(verb=verb, incident_ref=words[1].lstrip("#"), minutes=minutes)


def _declare(args: list[str]) -> ChatCommand:
    if not args:
        raise BadCommand(f"A title is needed. {USAGE}")
    try:
        severity = Severity(args[1].lower()) if len(args) > 1 else Severity.HIGH
    except ValueError as exc:
        raise BadCommand(f"Unknown severity {args[1]!r}. {USAGE}") from exc
    return ChatCommand(verb=Verb.DECLARE, title=args[0], severity=severity)


async def perform(actions: IncidentActions, command: ChatCommand, actor: Actor,
                  request_id: str) -> str:
    """Carry out `command` as `actor`; the answer to show the person."""
    ref = command.incident_ref
    try:
        match command.verb:
            case Verb.HELP:
                return USAGE
            case Verb.LIST:
                return _list_text(await actions.list_open())
            case Verb.DECLARE:
                made = await actions.declare(command.title, command.severity, actor)
                return f"Declared #{made.number} {made.title} ({made.severity.value})."
            case Verb.ACK:
                result = await actions.acknowledge(ref, actor, request_id)
            case Verb.RESOLVE:
                result = await actions.resolve(ref, actor, request_id)
            case Verb.ESCALATE:
                result = await actions.escalate(ref, actor, request_id)
            case Verb.SNOOZE:
                result = await actions.snooze(ref, actor, request_id, command.minutes)
            case Verb.APPROVE:
                result = await actions.approve(ref, actor, request_id, command.proposal_id)
    except ActionRefused as refused:
        return f"Refused: {refused}"
    except ActionQueued as queued:
        return f"Queued: {queued}"
    done = {Verb.ACK: "acknowledged", Verb.RESOLVE: "resolved", Verb.ESCALATE: "escalated",
            Verb.SNOOZE: f"snoozed for {command.minutes} min",
            Verb.APPROVE: "approved the remediation of"}[command.verb]
    suffix = "" if result.changed else " (already done)"
    label = f"#{ref}" if ref.isdigit() else ref
    return f"{actor.name or actor.id} {done} {label} - now {result.status.value}{suffix}."


def _list_text(open_incidents: list[IncidentSummary]) -> str:
    if not open_incidents:
        return "No open incidents."
    return "\n".join(f"#{i.number} [{i.severity.value}] {i.title} ({i.status.value})"
                     for i in open_incidents)
