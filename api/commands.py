"""Sending commands to incident workflows, with answers the API can turn into HTTP statuses."""

from __future__ import annotations

import uuid
from datetime import timedelta

from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from workflows.domain.incidents import Command, CommandResult, QueuedCommand
from workflows.queued_commands import QUEUED_COMMAND_SIGNAL

# Error types raised by the workflow's validators, and what they mean to a caller.
CONFLICT_TYPES = {"IllegalTransition", "IncidentClosed", "InvalidCommand"}


class CommandRefused(Exception):
    """The incident refused the command (409) or does not exist (404). Retrying cannot help."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class CommandQueued(Exception):
    """No worker answered within the wait: the command went into the incident's history as the
    `queued_command` signal and applies (or is refused on the timeline) once a worker runs.
    Not a failure: answered 202. Retrying with the same `request_id` is harmless."""

    def __init__(self, update: str, request_id: str, waited: float) -> None:
        super().__init__(f"no worker answered within {waited:g} s; the {update} is stored in the "
                         "incident's history and applies as soon as a worker runs (the "
                         "timeline shows it, or why it could not apply)")
        self.update = update
        self.request_id = request_id


async def send_command(client: Client, workflow_id: str, update: str, cmd: Command,
                       wait: float | None = None) -> CommandResult:
    """Execute update `update` on the incident's workflow; refusals become `CommandRefused`.

    With `wait`, an update nobody answers within `wait` seconds (a worker outage) is sent
    again as a durable signal and `CommandQueued` is raised: an update not yet taken by a
    worker lives only in the server's memory, and the caller deserves an answer now.
    """
    handle = client.get_workflow_handle(workflow_id)
    if not cmd.request_id:  # the update and its queued twin must share one id to act once
        cmd = cmd.model_copy(update={"request_id": f"cmd-{uuid.uuid4().hex}"})
    try:
        return await handle.execute_update(
            update, cmd, id=cmd.request_id, result_type=CommandResult,
            rpc_timeout=timedelta(seconds=wait) if wait else None)
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        await handle.signal(QUEUED_COMMAND_SIGNAL, QueuedCommand(
            update=update, command=cmd.model_dump(mode="json")))
        raise CommandQueued(update, cmd.request_id, wait or 0) from None
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError) and cause.type in CONFLICT_TYPES:
            raise CommandRefused(409, cause.message) from err
        raise
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            raise CommandRefused(409, "the incident is closed") from err
        raise
