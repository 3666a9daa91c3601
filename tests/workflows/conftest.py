"""One worker for every workflow test, on the shared time-skipping environment.

The worker must live for the whole session: the time-skipping server will not skip time while
any workflow - even one left open by an earlier test - has a task no worker picks up. So every
workflow and activity is registered here, once: the incidents queue (workflows, projection,
on-call lookup, page-not-delivered) and the notifications queue (`notify.send`), whose channels
point at local vendor servers (Slack, webhook) and at a recording channel that notes the
virtual time of every delivery (sms, voice, email).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import httpx
import pytest
from temporalio import activity
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError

from activities.notify.activity import NotifyActivities
from activities.notify.guards import Breakers
from activities.notify.ledger import DeliveryLedger
from activities.notify.recording import RecordingChannel
from activities.notify.slack import SlackChannel, slack_client
from activities.notify.webhook import WebhookChannel
from infra.config.store import ConfigStore
from infra.db.engine import make_engine
from infra.db.migrate import upgrade
from infra.db.repositories import incidents as incidents_repo
from infra.settings.notify import WebhookEndpoint, WebhookSettings
from infra.temporal import register_search_attributes
from tests.vendors.slack import SlackServer
from tests.vendors.webhook import WebhookReceiver
from tests.workflows.analysis_harness import harness_worker, probe
from worker.wiring import Dependencies, analysis_activities, build_worker
from workflows.domain.alerts import AlertStatus
from workflows.domain.base import Severity
from workflows.domain.config import (
    ConfigDocument,
    ContactKind,
    ContactMethod,
    EscalationPolicy,
    EscalationStep,
    NotificationRule,
    Target,
    Team,
    User,
)
from workflows.domain.config_types import TimeWindow
from workflows.domain.incidents import (
    AlertBatch,
    AlertChange,
    IncidentInput,
    Resolve,
    RouteDecision,
)
from workflows.domain.notifications import DeliveryReceipt, Notification
from workflows.domain.schedule_model import Layer, Override, Schedule
from workflows.incident import IncidentWorkflow

QUEUE = "workflow-tests"
SLACK_TOKEN = "xoxb-workflow-tests"
WEBHOOK_SECRET = "whsec-workflow-tests"


class TimedRecording(RecordingChannel):
    """The recording channel, plus the (virtual) time Temporal scheduled each delivery."""

    def __init__(self) -> None:
        super().__init__()
        self.at: list[tuple[datetime, Notification]] = []

    async def send(self, n: Notification) -> DeliveryReceipt:
        self.at.append((activity.info().current_attempt_scheduled_time, n))
        return await super().send(n)

    def pages_for(self, incident_id: str) -> list[tuple[datetime, Notification]]:
        return [(at, n) for at, n in self.at if n.incident_id == incident_id]


@pytest.fixture(scope="session")
async def registered_env(temporal_env):
    await register_search_attributes(temporal_env.client)
    return temporal_env


@pytest.fixture(scope="session")
def engine(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('wf')}/lim.db"
    upgrade(url)
    eng = make_engine(url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
async def slack_server():
    async with SlackServer(token=SLACK_TOKEN) as server:
        yield server


@pytest.fixture(scope="session")
async def webhook_receiver():
    async with WebhookReceiver(secret=WEBHOOK_SECRET) as server:
        yield server


@pytest.fixture(scope="session")
def recording() -> TimedRecording:
    return TimedRecording()


@pytest.fixture(scope="session")
async def worker(registered_env, engine, slack_server, webhook_receiver, recording):
    async with httpx.AsyncClient() as http:
        webhook = WebhookSettings(endpoints={"ops": WebhookEndpoint(
            url=f"{webhook_receiver.url}/hook", secret=WEBHOOK_SECRET)}, timeout_seconds=5)
        channels = {
            "slack": SlackChannel(slack_client(SLACK_TOKEN, f"{slack_server.url}/api/", 5)),
            "webhook": WebhookChannel(http, webhook),
            "sms": recording, "voice": recording, "email": recording,
        }
        # A breaker that never opens: tests here reject sends (bad addresses), they never
        # make a channel fail for everyone, and one test's failures must not skip another's.
        notify = NotifyActivities(channels, DeliveryLedger(engine), Breakers(10_000, 0.0))
        deps = Dependencies(engine=engine, link_base="http://lim.test", notify=notify,
                            extra_activities=analysis_activities(engine, probe()))
        async with build_worker(registered_env.client, deps, task_queue=QUEUE), \
                harness_worker(registered_env.client, engine):
            yield QUEUE


# ---- escalation harness: a config per test, incidents on a policy, pages as (minute, user) ----


def person(user_id: str, *kinds: str, rules: list[NotificationRule] | None = None,
           tz: str = "UTC", hours: TimeWindow | None = None, slack: str = "",
           webhook: str = "ops") -> User:
    """A user reachable on `kinds` (default sms); method ids are `<user>-<kind>`."""
    address = {"sms": "+15550100", "voice": "+15550100", "email": f"{user_id}@example.test",
               "slack": slack or f"U{user_id.upper()}", "webhook": webhook}
    methods = [ContactMethod(id=f"{user_id}-{k}", kind=ContactKind(k), address=address[k])
               for k in (kinds or ("sms",))]
    extra = {"business_hours": hours} if hours is not None else {}
    return User(id=user_id, time_zone=tz, contact_methods=methods,
                notification_rules=rules or [], **extra)


def ladder_config(*users: User, primary: str = "alice", handoff_to: str = "",
                  handoff_at: datetime | None = None) -> ConfigDocument:
    """Policy `ladder`: 0m primary schedule, 5m secondary schedule + lead, 15m manager; 3 cycles.

    Team `ml` has Slack channel C0TEAM and falls back to the manager.
    """
    overrides = [Override(user=handoff_to, start=handoff_at, end=handoff_at + timedelta(days=2))] \
        if handoff_to and handoff_at else []
    known = {u.id for u in users}
    defaults = [person(u) for u in ("alice", "carol", "lead", "manager") if u not in known]
    return ConfigDocument(
        users=[*users, *defaults],
        teams=[Team(id="ml", members=["alice", "carol"], slack_channel="C0TEAM",
                    fallback=Target(user="manager"))],
        schedules=[_schedule("primary", primary, overrides), _schedule("secondary", "carol", [])],
        escalation_policies=[EscalationPolicy(id="ladder", repeat=3, steps=[
            EscalationStep(after=timedelta(0), notify=[Target(schedule="primary")]),
            EscalationStep(after=timedelta(minutes=5),
                           notify=[Target(schedule="secondary"), Target(user="lead")]),
            EscalationStep(after=timedelta(minutes=15), notify=[Target(user="manager")]),
        ])])


def _schedule(schedule_id: str, user_id: str, overrides: list[Override]) -> Schedule:
    layer = Layer(id="l1", rotation="weekly", start=date(2020, 1, 6), participants=[user_id])
    return Schedule(id=schedule_id, layers=[layer], overrides=overrides)


@dataclass
class Opened:
    handle: WorkflowHandle
    incident_id: str
    t0: datetime


class Paging:
    """Drives one test's incidents; answers what was delivered, to whom, at which minute."""

    def __init__(self, env, queue: str, engine, recording: TimedRecording) -> None:
        self.env, self.queue, self.engine, self.recording = env, queue, engine, recording
        self._opened: list[Opened] = []

    def apply(self, doc: ConfigDocument) -> None:
        ConfigStore(self.engine).apply(doc, "tests")

    async def now(self) -> datetime:
        return await self.env.get_current_time()

    async def open(self, severity: Severity = Severity.HIGH, policy: str = "ladder") -> Opened:
        key = f"esc-{uuid.uuid4().hex[:10]}"
        route = RouteDecision(escalation_policy_id=policy, team="ml", auto_resolve=False)
        first = AlertChange(alert_id=f"{key}-a1", fingerprint=f"{key}-fp", title=f"Latency {key}",
                            status=AlertStatus.FIRING, severity=severity, service="inference-api",
                            env="prod", at=await self.now(), reason="test")
        return await self.open_with(key, route, first)

    async def open_with(self, key: str, route: RouteDecision, first: AlertChange) -> Opened:
        """Open incident `key` on `route` with alert `first`; resolved at teardown."""
        handle = await self.env.client.start_workflow(
            IncidentWorkflow.run, IncidentInput(dedup_key=key, route=route),
            id=f"incident-{key}", task_queue=self.queue, start_signal="alerts",
            start_signal_args=[AlertBatch(changes=[first])])
        state = await _opened_state(handle)
        opened = Opened(handle=handle, incident_id=state.incident_id, t0=state.opened_at)
        self._opened.append(opened)
        return opened

    async def sleep(self, minutes: float) -> None:
        await self.env.sleep(timedelta(minutes=minutes))

    def pages(self, opened: Opened) -> list[tuple[float, str, str]]:
        """(minutes after T0, user id, contact method kind) of every delivery, in order."""
        return [(minutes(opened.t0, at), n.target.user_id, n.target.kind.value)
                for at, n in self.recording.pages_for(opened.incident_id)]

    def who(self, opened: Opened) -> list[tuple[float, str]]:
        return sorted({(m, user) for m, user, _ in self.pages(opened)})

    def timeline(self, opened: Opened) -> list[dict]:
        return incidents_repo.timeline(self.engine, opened.incident_id)

    def kinds(self, opened: Opened) -> list[str]:
        return [e["kind"] for e in self.timeline(opened)]

    async def close_all(self) -> None:
        """Resolve what the test left open, so no ladder keeps paging during later tests."""
        for opened in self._opened:
            try:  # bounded like _resolve: a query no worker answers must not hang the session
                state = await asyncio.wait_for(opened.handle.query(IncidentWorkflow.state),
                                               timeout=10)
            except (TimeoutError, RPCError) as err:
                print(f"\nteardown: state query of {opened.handle.id} failed ({err!r}); "
                      "terminating it")
                with contextlib.suppress(RPCError):
                    await opened.handle.terminate("test teardown: state query unanswered")
                continue
            if state.status.is_open:
                await self._resolve(opened)

    async def _resolve(self, opened: Opened) -> None:
        """Resolve, moving virtual time on while the update is pending.

        Between tests nobody sleeps, so the time-skipping server lets time pass only in real
        time: an update waiting on a retry backoff or a timer would wait for real. Bounded: if
        it still does not answer, say what the workflow was waiting on and terminate it, so
        one stuck incident cannot hang the session.
        """
        update = asyncio.ensure_future(opened.handle.execute_update(
            IncidentWorkflow.resolve, Resolve(note="test end")))
        for _ in range(8):  # at most ~90 s: under the tests' 120 s timeout
            done, _ = await asyncio.wait({update}, timeout=1.0)
            if done:
                update.result()
                return
            with contextlib.suppress(TimeoutError, RPCError):  # a stalled skip: just try again
                await asyncio.wait_for(self.env.sleep(timedelta(seconds=30)), timeout=10)
        update.cancel()
        described = await opened.handle.describe()
        pending = [(a.activity_type.name, a.attempt, a.last_failure.message)
                   for a in described.raw_description.pending_activities]
        print(f"\nteardown: resolve of {opened.handle.id} did not answer; pending activities "
              f"{pending}; terminating it")
        await opened.handle.terminate("test teardown: resolve did not answer")


def minutes(t0: datetime, at: datetime) -> float:
    return round((at - t0).total_seconds() / 60, 1)


async def _opened_state(handle: WorkflowHandle):
    for _ in range(200):
        state = await handle.query(IncidentWorkflow.state)
        if state is not None:
            return state
        await asyncio.sleep(0.01)
    raise AssertionError("the incident did not open")


@pytest.fixture
async def paging(registered_env, worker, engine, recording):
    harness = Paging(registered_env, worker, engine, recording)
    yield harness
    await harness.close_all()
