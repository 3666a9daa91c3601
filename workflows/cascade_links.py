"""ADOPT inside the workflows: a root incident that opens after its symptoms silences them.

Correlation at dispatch (`api.correlation`) puts the workflow ids of the open symptom incidents
on the new root's `RouteDecision.adopted_symptoms`. Once the root exists it signals each one
`link_to_root` from workflow code: a SignalExternalWorkflowExecution command, so the intent is in
the root's history as soon as the root is, survives any crash of the API or a worker, carries the
root's real incident id, and needs no second write path in the dispatcher.

A symptom that receives the signal ends up exactly where a LINK at open puts it: its route names
the root and has `suppress_paging`, which stops its escalation ladder (`EscalationFlow.enabled`)
and any page still walking its fallback chain; a LINKED timeline event says why (rule, score and
hops, which alert, which root). Both sides are behind `ADOPT_PATCH`, because incidents stay open
across deploys and their histories are replayed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from workflows.domain.incident_rules import Happening
    from workflows.domain.incidents import IncidentState, LinkToRoot
    from workflows.domain.timeline import EventKind

LINK_SIGNAL = "link_to_root"  # public API: recorded in history, never rename
ADOPT_PATCH = "adopt-links-symptoms"
# A symptom opened in the same outbox drain may not exist yet when the root's first task runs;
# a closed one never will. A few short durable waits tell the two apart cheaply.
SIGNAL_ATTEMPTS = 3
SIGNAL_RETRY_AFTER = timedelta(seconds=5)

Record = Callable[[EventKind, str, dict[str, str]], None]


def adopts(state: IncidentState, fresh: bool) -> bool:
    """Whether this run must tell symptoms about their root (once, on the first run)."""
    return fresh and bool(state.route.adopted_symptoms) and workflow.patched(ADOPT_PATCH)


async def tell_symptoms(state: IncidentState, record: Record) -> None:
    """Signal every adopted symptom `link_to_root`; record who was told and who was gone."""
    link = LinkToRoot(root_incident_id=state.incident_id,
                      root_workflow_id=workflow.info().workflow_id,
                      reason=state.route.correlation_reason)
    told, gone = [], []
    for workflow_id in state.route.adopted_symptoms:
        (told if await _signal(workflow_id, link) else gone).append(workflow_id)
    summary = f"root of earlier incident(s) {', '.join(told) or 'none'}: they stop paging"
    if gone:
        summary += f"; already closed: {', '.join(gone)}"
    record(EventKind.LINKED, summary, {"symptoms": ",".join(told), "closed": ",".join(gone),
                                       "reason": state.route.correlation_reason})


async def _signal(workflow_id: str, link: LinkToRoot) -> bool:
    for attempt in range(1, SIGNAL_ATTEMPTS + 1):
        try:
            await workflow.get_external_workflow_handle(workflow_id).signal(LINK_SIGNAL, link)
            return True
        except FailureError:  # not found (closed, or not started yet): wait, then try again
            if attempt == SIGNAL_ATTEMPTS:
                return False
            await workflow.sleep(SIGNAL_RETRY_AFTER * attempt, summary=f"retry link {workflow_id}")
    return False


def linked_to_root(state: IncidentState, link: LinkToRoot) -> tuple[IncidentState, list[Happening]]:
    """The symptom's state once `link` adopted it, and the LINKED event saying why.

    A repeated signal for the same root changes nothing (empty happenings).
    """
    route = state.route
    if route.suppress_paging and route.root_incident_id == link.root_incident_id:
        return state, []
    route = route.model_copy(update={"root_incident_id": link.root_incident_id,
                                     "suppress_paging": True,
                                     "correlation_reason": link.reason})
    happening = Happening(
        kind=EventKind.LINKED,
        summary=f"linked to root incident {link.root_incident_id}, which opened after this "
                "one; paging stopped",
        details={"root_incident_id": link.root_incident_id,
                 "root_workflow_id": link.root_workflow_id,
                 "suppress_paging": "true", "reason": link.reason})
    return state.model_copy(update={"route": route}), [happening]
