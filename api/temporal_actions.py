"""The production `IncidentActions`: incident ref → read-model row → workflow update.

Chat surfaces (Slack, SMS, voice) act through this exactly like the REST command routes do:
`send_command` executes the named update on the incident's workflow, whose validator refuses
what is illegal now (answered as `ActionRefused`, never an exception in a listener). Declaring
an incident stores a generic alert through `AlertIntake.accept`, so it takes the same durable
outbox route as any alert, then waits (bounded) for the workflow to project the new incident.

Also here: the people directory the chat surfaces need (Slack user / phone number → the
configured responder) and `chat_routers`, which builds the Slack and Twilio routers that
`create_app` mounts when their settings are configured.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from fastapi import APIRouter
from sqlalchemy import select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from activities.notify.ledger import DeliveryLedger
from api.actions import ActionQueued, ActionRefused, IncidentSummary
from api.commands import CommandQueued, CommandRefused, send_command
from api.slack.app import build_slack_app, slack_router
from api.state import AppState
from api.twilio.router import twilio_router
from infra.config.store import ConfigStore
from infra.db.repositories import incidents as repo
from infra.settings import Settings
from workflows.domain.base import Actor, ActorKind, Severity
from workflows.domain.config import ConfigDocument, ContactKind
from workflows.domain.incidents import (
    Acknowledge,
    Command,
    CommandResult,
    Escalate,
    Resolve,
    Snooze,
)
from workflows.domain.lifecycle import IncidentStatus


class Approve(Command):
    """Approve remediation proposal `proposal_id` (update `approve`; see the remediation flow)."""

    proposal_id: str


OPEN = [IncidentStatus.TRIGGERED.value, IncidentStatus.ACKNOWLEDGED.value]
DECLARE_WAIT_SECONDS = 10.0
StateRef = Callable[[], AppState]


class TemporalIncidentActions:
    """`IncidentActions` over the app's database, Temporal client and alert intake.

    `state` returns the running app's `AppState` (built in the lifespan, after routers are
    mounted), so one instance can be constructed when the app is.
    """

    def __init__(self, state: StateRef, declare_wait: float = DECLARE_WAIT_SECONDS) -> None:
        self._state = state
        self._declare_wait = declare_wait

    async def acknowledge(self, incident_ref: str, actor: Actor, request_id: str) -> CommandResult:
        return await self._send(incident_ref, "acknowledge", Acknowledge(), actor, request_id)

    async def resolve(self, incident_ref: str, actor: Actor, request_id: str) -> CommandResult:
        return await self._send(incident_ref, "resolve", Resolve(), actor, request_id)

    async def escalate(self, incident_ref: str, actor: Actor, request_id: str) -> CommandResult:
        return await self._send(incident_ref, "escalate", Escalate(), actor, request_id)

    async def snooze(self, incident_ref: str, actor: Actor, request_id: str,
                     minutes: int) -> CommandResult:
        return await self._send(incident_ref, "snooze", Snooze(minutes=minutes), actor,
                                request_id)

    async def approve(self, incident_ref: str, actor: Actor, request_id: str,
                      proposal_id: str) -> CommandResult:
        return await self._send(incident_ref, "approve", Approve(proposal_id=proposal_id), actor,
                                request_id)

    async def declare(self, title: str, severity: Severity, actor: Actor) -> IncidentSummary:
        """Open an incident as a person: a generic alert through the normal intake.

        A declaration with the title of an open declared incident joins it (same dedup key),
        as a repeated alert would. Refused when the incident has not opened within the wait
        (Temporal or the worker down); the alert stays queued and opens it later.
        """
        state = self._state()
        body = {"title": title, "severity": severity.value, "source": f"declared by {actor.label}",
                "dedup_key": f"declared-{uuid.uuid4().hex}", "labels": {"declared": "true"}}
        parser = state.sources.source_for("generic")
        batch = parser.parse(json.dumps(body).encode(), {"content-type": "application/json"},
                             datetime.now(UTC))
        await state.intake.accept(batch.alerts, actor.id)
        row = await self._wait_for_member(state, batch.alerts[0].fingerprint)
        if row is None:
            raise ActionRefused("declared and queued, but the incident has not opened yet "
                                "(is the worker running?); it opens as soon as it can")
        return _summary(row)

    async def list_open(self, limit: int = 20) -> list[IncidentSummary]:
        """Open incidents from the read model, newest first."""
        rows, _ = await asyncio.to_thread(repo.list_incidents, self._state().engine,
                                          {"status": OPEN}, limit, 0)
        return [_summary(r) for r in rows]

    # ---- helpers -------------------------------------------------------------------------------

    async def _send(self, ref: str, update: str, cmd: Command, actor: Actor,
                    request_id: str) -> CommandResult:
        state = self._state()
        row = await asyncio.to_thread(repo.find, state.engine, ref)
        if row is None:
            raise ActionRefused(f"no incident {ref}")
        cmd = cmd.model_copy(update={"actor": actor, "incident_id": row["id"],
                                     "request_id": request_id})
        try:
            return await send_command(await state.temporal.client(), row["workflow_id"], update,
                                      cmd, wait=state.settings.command_wait_seconds)
        except CommandRefused as err:
            raise ActionRefused(err.reason) from err
        except CommandQueued as queued:
            raise ActionQueued(str(queued)) from queued
        except WorkflowUpdateFailedError as err:
            if _unknown_update(err):
                raise ActionRefused(f"this deployment cannot {update} incidents yet") from err
            raise

    async def _wait_for_member(self, state: AppState, fingerprint: str) -> dict | None:
        deadline = time.monotonic() + self._declare_wait
        while True:
            row = await asyncio.to_thread(_incident_with_member, state.engine, fingerprint)
            if row is not None or time.monotonic() >= deadline:
                return row
            await asyncio.sleep(0.05)  # the projection lands a few workflow tasks later


def _unknown_update(err: WorkflowUpdateFailedError) -> bool:
    """The workflow has no handler by that name (an older worker): a refusal, not a crash."""
    cause = err.cause
    return isinstance(cause, ApplicationError) and "expected but not found" in cause.message


def _incident_with_member(engine, fingerprint: str) -> dict | None:
    members = repo.MEMBERS
    with engine.connect() as conn:
        incident_id = conn.execute(select(members.c.incident_id)
                                   .where(members.c.fingerprint == fingerprint)).scalar()
    return repo.find(engine, incident_id) if incident_id else None


def _summary(row: dict) -> IncidentSummary:
    return IncidentSummary(id=row["id"], number=row["number"], title=row["title"],
                           status=IncidentStatus(row["status"]),
                           severity=Severity(row["severity"]), service=row["service"])


# ---- who is who: the configured responders ----------------------------------------------------


class ConfiguredPeople:
    """Slack user ids and phone numbers → the responder in the applied configuration.

    Slack ids come from `slack_user_id` and slack contact methods; numbers from `phone` and
    sms/voice contact methods. Re-read at most every `refresh_seconds` (lookups are sync, as
    the directory Protocols are, and must not hit the database on every click).
    """

    def __init__(self, state: StateRef, refresh_seconds: float = 5.0) -> None:
        self._state = state
        self._refresh = refresh_seconds
        self._read_at = float("-inf")
        self._slack: dict[str, Actor] = {}
        self._phones: dict[str, Actor] = {}

    def actor_for(self, slack_user_id: str) -> Actor | None:
        self._maybe_reload()
        return self._slack.get(slack_user_id)

    def actor_for_phone(self, number: str) -> Actor | None:
        self._maybe_reload()
        return self._phones.get(number)

    def _maybe_reload(self) -> None:
        if time.monotonic() - self._read_at < self._refresh:
            return
        current = ConfigStore(self._state().engine).current()
        self._slack, self._phones = _directories(current.document if current else
                                                 ConfigDocument())
        self._read_at = time.monotonic()


def _directories(doc: ConfigDocument) -> tuple[dict[str, Actor], dict[str, Actor]]:
    slack: dict[str, Actor] = {}
    phones: dict[str, Actor] = {}
    for user in doc.users:
        actor = Actor(kind=ActorKind.USER, id=user.id, name=user.name or user.id)
        if user.slack_user_id:
            slack[user.slack_user_id] = actor
        if user.phone:
            phones[user.phone] = actor
        for method in user.contact_methods:
            if method.kind is ContactKind.SLACK:
                slack.setdefault(method.address, actor)
            elif method.kind in (ContactKind.SMS, ContactKind.VOICE):
                phones.setdefault(method.address, actor)
    return slack, phones


# ---- mounting the chat surfaces -----------------------------------------------------------------


class _LedgerPages:
    """`RecentPages` over the delivery ledger of the running app's database."""

    def __init__(self, state: StateRef) -> None:
        self._state = state

    async def latest_page_to(self, address: str) -> str | None:
        return await DeliveryLedger(self._state().engine).latest_page_to(address)


def chat_routers(settings: Settings, state: StateRef) -> list[APIRouter]:
    """The Slack router when Slack is configured, the Twilio router when Twilio is."""
    actions = TemporalIncidentActions(state)
    people = ConfiguredPeople(state)
    routers = []
    slack = settings.notify.slack
    if slack.signing_secret is not None and slack.bot_token is not None:
        routers.append(slack_router(build_slack_app(slack, actions, people)))
    if settings.notify.twilio.auth_token is not None:
        routers.append(twilio_router(settings.notify.twilio, actions, people,
                                     _LedgerPages(state)))
    return routers
