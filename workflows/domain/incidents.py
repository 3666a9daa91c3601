"""The incident as the workflow holds it, and the messages that change it."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import Field

from workflows.domain.alerts import AlertStatus
from workflows.domain.base import SYSTEM, Actor, Frozen, Severity
from workflows.domain.escalation import PendingPage
from workflows.domain.lifecycle import IncidentStatus


class RouteDecision(Frozen):
    """What routing decided for the incident's first alert: carried into the workflow."""

    route_id: str = "default"
    group_by: list[str] = Field(default_factory=lambda: ["alertname", "service", "env"])
    split_by_scope: bool = True  # scope labels outside group_by still split (see grouping)
    auto_resolve: bool = True
    fallback_chain: list[str] = Field(default_factory=list)  # contact kinds; empty: the default
    escalation_policy_id: str = ""
    service: str = ""
    team: str = ""
    # Set by correlation at dispatch when this incident is a symptom of an open root incident
    # upstream in the `depends_on` graph: the escalation ladder must not page for it.
    root_incident_id: str = ""
    suppress_paging: bool = False
    correlation_reason: str = ""  # rule, score, which alert/incident (shown as a LINKED event)
    # Set by correlation at dispatch when this incident's alert is the root of incidents that
    # opened before it (ADOPT): their workflow ids. The root signals each one `link_to_root`.
    adopted_symptoms: list[str] = Field(default_factory=list)


class AlertChange(Frozen):
    """A material change of one alert identity, as the incident needs to know it."""

    alert_id: str
    fingerprint: str
    status: AlertStatus
    title: str
    severity: Severity = Severity.MEDIUM
    service: str = ""
    env: str = ""
    at: datetime
    # Why this alert belongs to this incident (grouping rule and key): shown in the timeline.
    reason: str = ""


class AlertBatch(Frozen):
    """Signal payload: material alert changes for one dedup key, coalesced by the dispatcher.

    `repeats` counts occurrences that changed nothing (storm copies); they never reach history
    one by one.
    """

    changes: list[AlertChange]
    repeats: int = 0


class LinkToRoot(Frozen):
    """Signal `link_to_root`: a root incident that opened after this one adopts it as a symptom.

    The symptom then behaves as if it had been LINKed when it opened: its escalation stops and
    the timeline says which root, rule, score and alert made the call (`reason`).
    """

    root_incident_id: str
    root_workflow_id: str
    reason: str = ""


class Member(Frozen):
    """An alert identity attached to an incident, with its latest status."""

    fingerprint: str
    status: AlertStatus
    title: str
    severity: Severity


class AnalysisProgress(Frozen):
    """What AI triage has done for an incident, carried across continue-as-new.

    `tokens_spent` feeds every analysis request so the per-incident LLM budget holds across
    calls and runs; `cost_usd` is the matching spend (tokens × the settings' price table).
    """

    tokens_spent: int = 0
    cost_usd: float = 0.0
    category: str = ""
    classified: bool = False
    diagnosed: bool = False
    postmortem_drafted: bool = False
    failures: list[str] = Field(default_factory=list)  # "<step>: <error>", newest last, bounded


class EscalationProgress(Frozen):
    """Where the escalation ladder stands, carried across continue-as-new.

    `round` counts ladders (1 when the incident opens, +1 per reopen) so pages of a reopened
    incident get fresh idempotency keys; `next_index` points into `plan_ladder(...)`.
    """

    round: int = 0
    started_at: datetime | None = None
    next_index: int = 0
    next_due: datetime | None = None
    snoozed_until: datetime | None = None
    finished: bool = False  # the ladder ran to its end (exhausted, or a digest was sent)
    exhausted: bool = False  # the last cycle passed with no acknowledgement
    assignee: str = ""  # set by reassign: paged at once, and by every later step
    reassignments: int = 0
    updates_posted: int = 0
    threads: list[str] = Field(default_factory=list)  # Slack thread refs of delivered pages
    # Personal-rule contacts still waiting when the run continued-as-new (resumed by the next).
    pending_pages: list[PendingPage] = Field(default_factory=list)


class IncidentState(Frozen):
    """Everything the workflow must carry across continue-as-new. Replaced, never mutated."""

    incident_id: str
    number: int = 0  # short id assigned by the read model on first projection (#42)
    dedup_key: str
    title: str
    service: str = ""
    env: str = ""
    severity: Severity = Severity.MEDIUM
    status: IncidentStatus = IncidentStatus.TRIGGERED
    opened_at: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: Actor | None = None
    resolved_at: datetime | None = None
    resolved_by: Actor | None = None
    members: dict[str, Member] = Field(default_factory=dict)
    alert_count: int = 0
    repeat_count: int = 0
    version: int = 0
    timeline_seq: int = 0
    severity_pinned: bool = False  # a human set the severity: alerts no longer change it
    route: RouteDecision = RouteDecision()
    # Update ids already handled, so a retried Slack click or REST call acts once even across
    # continue-as-new (Temporal dedups update ids only within one run).
    handled_update_ids: list[str] = Field(default_factory=list)
    seen_alert_ids: list[str] = Field(default_factory=list)
    escalation: EscalationProgress = EscalationProgress()  # see workflows/escalation_flow.py
    analysis: AnalysisProgress = AnalysisProgress()  # AI triage; see workflows/analysis_flow.py

    @property
    def firing_count(self) -> int:
        return sum(1 for m in self.members.values() if m.status is AlertStatus.FIRING)


class IncidentInput(Frozen):
    """Workflow input: the first run gets the key and route, continue-as-new the state too."""

    dedup_key: str
    route: RouteDecision = RouteDecision()
    # After resolve, the incident waits this long for the alert to fire again (a flap) and
    # reopens instead of opening a new incident; then the workflow closes.
    flap_window: timedelta = timedelta(minutes=15)
    state: IncidentState | None = None


# ---- commands (workflow updates) -------------------------------------------------------------


class Command(Frozen):
    """Base of every human or API command: who asked, and an id that makes retries harmless."""

    actor: Actor = SYSTEM
    request_id: str = ""
    incident_id: str = ""  # when set, the command is refused unless it names this incident


class Acknowledge(Command):
    note: str = ""


class Resolve(Command):
    note: str = ""


class Reopen(Command):
    reason: str = ""


class AddNote(Command):
    text: str


class ChangeSeverity(Command):
    severity: Severity
    reason: str = ""


class Escalate(Command):
    """Page the next step of the ladder now instead of waiting for its timer."""

    reason: str = ""


class Snooze(Command):
    """Pause escalation for `minutes`; it resumes where it was afterwards."""

    minutes: int


class Reassign(Command):
    """Hand the incident to `user_id`: they are paged at once and by every later step."""

    user_id: str
    reason: str = ""


class QueuedCommand(Frozen):
    """Signal `queued_command`: a command no worker answered in time, kept durably in history.

    The API sends a command as an update (validated, answered). When no worker answers within
    the API's wait (a worker outage), an update would live only in the server's memory, so the
    API sends the same command, same `request_id`, as this signal instead: it is in history at
    once and applies, or is refused on the timeline, as soon as a worker runs the workflow.
    `command` is the command model's JSON; `update` names the update it stands for.
    """

    update: str
    command: dict


class CommandResult(Frozen):
    incident_id: str
    status: IncidentStatus
    severity: Severity
    version: int
    changed: bool = True
