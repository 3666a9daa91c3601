"""Commands that arrive as the `queued_command` signal because no worker answered the update.

Same effect as the update of that name: the same validator decides, the same handler acts, and
the command's `request_id` makes the pair idempotent (the abandoned update may still be run by
the server once a worker is back; whichever comes second is a repeat and changes nothing).
A command the validator refuses cannot be answered any more, so the refusal goes on the
timeline, where the person who sent it looks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from workflows.domain.incidents import (
    Acknowledge,
    AddNote,
    ChangeSeverity,
    Command,
    Escalate,
    QueuedCommand,
    Reassign,
    Reopen,
    Resolve,
    Snooze,
)

QUEUED_COMMAND_SIGNAL = "queued_command"  # public API: recorded in history, never rename

# update name -> (command model, validator method name, handler method name) on the workflow
QUEUEABLE: dict[str, tuple[type[Command], str, str]] = {
    "acknowledge": (Acknowledge, "_check_acknowledge", "acknowledge"),
    "resolve": (Resolve, "_check_resolve", "resolve"),
    "reopen": (Reopen, "_check_reopen", "reopen"),
    "add_note": (AddNote, "_check_add_note", "add_note"),
    "change_severity": (ChangeSeverity, "_check_change_severity", "change_severity"),
    "escalate": (Escalate, "_check_escalate", "escalate"),
    "snooze": (Snooze, "_check_snooze", "snooze"),
    "reassign": (Reassign, "_check_reassign", "reassign"),
}


def resolve_queued(host: object, queued: QueuedCommand) -> tuple[
        Command, Callable[[Command], None], Callable[[Command], Awaitable[object]]] | None:
    """The command, its validator and its handler on `host`; None for an unknown update."""
    entry = QUEUEABLE.get(queued.update)
    if entry is None:
        return None
    model, validator, handler = entry
    return model.model_validate(queued.command), getattr(host, validator), getattr(host, handler)
