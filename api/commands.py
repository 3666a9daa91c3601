"""Sending commands to incident workflows, with answers the API can turn into HTTP statuses."""

from __future__ import annotations

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from workflows.domain.incidents import Command, CommandResult

# Error types raised by the workflow's validators, and what they mean to a caller.
CONFLICT_TYPES = {"IllegalTransition", "IncidentClosed", "InvalidCommand"}


class CommandRefused(Exception):
    """The incident refused the command (409) or does not exist (404). Retrying cannot help."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


async def send_command(client: Client, workflow_id: str, update: str, cmd: Command) -> CommandResult:
    """Execute update `update` on the incident's workflow; refusals become `CommandRefused`."""
    handle = client.get_workflow_handle(workflow_id)
    try:
        return await handle.execute_update(update, cmd, id=cmd.request_id or None,
                                           result_type=CommandResult)
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError) and cause.type in CONFLICT_TYPES:
            raise CommandRefused(409, cause.message) from err
        raise
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            raise CommandRefused(409, "the incident is closed") from err
        raise
