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

# update name -> its command model. The workflow's update handler has the update's name and its
# validator is `_check_<name>` (the workflow's own convention), so nothing else is listed here.
QUEUEABLE: dict[str, type[Command]] = {
    "acknowledge": Acknowledge,
    "resolve": Resolve,
    "reopen": Reopen,
    "add_note": AddNote,
    "change_severity": ChangeSeverity,
    "escalate": Escalate,
    "snooze": Snooze,
    "reassign": Reassign,
}


def resolve_queued(host: object, queued: QueuedCommand) -> tuple[
        Command, Callable[[Command], None], Callable[[Command], Awaitable[object]]] | None:
    """The command, its validator and its handler on `host`; None for an unknown update."""
    model = QUEUEABLE.get(queued.update)
    if model is None:
        return None
    return (model.model_validate(queued.command), getattr(host, f"_check_{queued.update}"),
            getattr(host, queued.update))
