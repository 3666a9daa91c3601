"""The low-severity digest: one email per person per period, never twice, nobody forgotten."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from infra.db.repositories.incidents import project
from tests.workflows.conftest import ladder_config, person
from workflows.digest import DigestInput, DigestResult, DigestWorkflow
from workflows.domain.base import Severity
from workflows.domain.incidents import IncidentState
from workflows.domain.notifications import NotificationKind, digest_period_start
from workflows.domain.timeline import EventKind, RecordIncident, TimelineEvent

HOUR = timedelta(hours=1)
# Seeded events live in a period no other test's incident can fall in.
PERIOD_END = datetime(2001, 2, 3, 10, 0, tzinfo=UTC)


def seed(engine, title: str, users: str, at: datetime, mode: str = "digest") -> str:
    """An incident (low, triggered) whose ladder put it in the digest for `users` at `at`."""
    incident_id = f"inc-{uuid.uuid4().hex[:12]}"
    state = IncidentState(incident_id=incident_id, dedup_key=incident_id, title=title,
                          service="batch-jobs", severity=Severity.LOW, opened_at=at, version=1)
    event = TimelineEvent(seq=1, at=at, kind=EventKind.PAGED, summary=f"in the digest for {users}",
                          details={"mode": mode, "users": users})
    project(engine, RecordIncident(workflow_id=f"incident-{incident_id}", state=state,
                                   events=[event]), at)
    return incident_id


async def run_digest(env, queue: str, period_end: datetime) -> DigestResult:
    return await env.client.execute_workflow(
        DigestWorkflow.run, DigestInput(period=HOUR, period_end=period_end),
        id=f"digest-{uuid.uuid4().hex[:8]}", task_queue=queue)


def digests_to(recording, user_id: str) -> list:
    return [n for _, n in recording.at
            if n.kind is NotificationKind.DIGEST and n.target.user_id == user_id]


async def test_each_person_gets_one_digest_of_the_period_and_a_rerun_sends_nothing(
        registered_env, worker, engine, paging, recording):
    dana, eli = f"dana{uuid.uuid4().hex[:4]}", f"eli{uuid.uuid4().hex[:4]}"
    ghost = f"ghost{uuid.uuid4().hex[:4]}"  # named by a ladder, not in the applied config
    paging.apply(ladder_config(person(dana, "email"), person(eli, "sms")))
    start = PERIOD_END - HOUR
    first = seed(engine, "Nightly export slow", f"{dana}, {eli}", start + timedelta(minutes=5))
    second = seed(engine, "Cache hit rate low", f"{dana}, {ghost}", start + timedelta(minutes=50))
    seed(engine, "Too early", dana, start - timedelta(seconds=1))
    seed(engine, "Next period", dana, PERIOD_END)
    seed(engine, "A real page", dana, start + timedelta(minutes=7), mode="")

    result = await run_digest(registered_env, worker, PERIOD_END)

    assert result.sent == [dana] and sorted(result.skipped) == sorted([eli, ghost])
    [mail] = digests_to(recording, dana)
    assert mail.target.address == f"{dana}@example.test"
    assert mail.idempotency_key == f"digest:{dana}:{PERIOD_END.isoformat()}"
    assert [i.incident_id for i in mail.digest_items] == [first, second]
    assert mail.digest_items[0].title == "Nightly export slow [batch-jobs]"

    again = await run_digest(registered_env, worker, PERIOD_END)
    assert again.sent == [] and again.already_sent == [dana]
    assert len(digests_to(recording, dana)) == 1


async def test_a_low_severity_incident_reaches_its_responder_in_the_next_digest(
        registered_env, worker, paging, recording):
    responder = f"rae{uuid.uuid4().hex[:4]}"
    paging.apply(ladder_config(person(responder, "email"), primary=responder))
    inc = await paging.open(Severity.LOW)
    await paging.sleep(1)
    assert paging.pages(inc) == []  # low severity interrupts nobody

    period_end = digest_period_start(inc.t0, HOUR) + HOUR
    result = await run_digest(registered_env, worker, period_end)

    assert result.sent == [responder]
    [mail] = digests_to(recording, responder)
    assert inc.incident_id in [i.incident_id for i in mail.digest_items]
