"""Correlation at dispatch: the real dispatcher, outbox and read model on SQLite, the session
time-skipping Temporal server and the product worker (`incident_worker`).

Every test uses its own random service names and title words, so incidents other tests leave
open in the shared database are never candidates.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from datetime import UTC, datetime

import pytest
from temporalio.service import RPCError

from api.dispatcher import OutboxDispatcher
from infra.config.store import ConfigStore
from infra.db.repositories import incidents as repo
from infra.db.tables.core import OutboxRow
from infra.settings.ingest import IngestSettings
from tests.workflows.helpers import eventually
from workflows.domain.alerts import AlertStatus
from workflows.domain.base import Severity
from workflows.domain.config import ConfigDocument, Service
from workflows.domain.grouping import workflow_id_for
from workflows.domain.incidents import AlertChange, RouteDecision
from workflows.incident import IncidentWorkflow
from workflows.side_effects import TASK_QUEUE

OUTBOX = OutboxRow.__table__


@pytest.fixture
def tag() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture
def dispatcher(incident_worker, shared_engine) -> OutboxDispatcher:
    return OutboxDispatcher(shared_engine, incident_worker.client, TASK_QUEUE, IngestSettings(),
                            asyncio.Event())


def queue(engine, key: str, title: str, service: str, n: int = 1) -> None:
    """An outbox row exactly as ingestion writes it."""
    now = datetime.now(UTC)
    change = AlertChange(alert_id=f"{key}-a{n}", fingerprint=f"{key}-fp{n}",
                         status=AlertStatus.FIRING, title=title, severity=Severity.HIGH,
                         service=service, env="prod", at=now, reason=f"new alert; key {key}")
    with engine.begin() as conn:
        conn.execute(OUTBOX.insert().values(dedup_key=key, change=change.model_dump(mode="json"),
                                            route=RouteDecision().model_dump(mode="json"),
                                            created_at=now))


async def state_of(client, key: str, alerts: int = 1):
    """The incident's state once it holds `alerts` alerts (signals are processed async)."""
    handle = client.get_workflow_handle(workflow_id_for(key))
    for _ in range(500):
        state = await handle.query(IncidentWorkflow.state)
        if state is not None and state.alert_count >= alerts:
            return state
        await asyncio.sleep(0.02)
    raise AssertionError(f"incident {key} never held {alerts} alert(s)")


async def projected(engine, client, key: str):
    state = await state_of(client, key)
    return await eventually(lambda: repo.find(engine, state.incident_id))


async def test_a_near_duplicate_joins_the_open_incident_and_says_why(
        dispatcher, shared_engine, incident_worker, tag):
    client = incident_worker.client
    queue(shared_engine, f"a-{tag}", f"Checkout p99 latency above threshold {tag}", f"shop-{tag}")
    await dispatcher.drain()
    await projected(shared_engine, client, f"a-{tag}")
    queue(shared_engine, f"b-{tag}", f"Checkout p99 latency above threshold again {tag}",
          f"shop-{tag}")
    assert await dispatcher.drain() == 0
    state = await state_of(client, f"a-{tag}", alerts=2)
    assert state.alert_count == 2
    timeline = await eventually(lambda: [e for e in repo.timeline(shared_engine, state.incident_id)
                                         if "near_duplicate" in e["summary"]])
    assert f"b-{tag}-a1" in timeline[0]["details"]["reason"]
    assert "score" in timeline[0]["details"]["reason"]
    with pytest.raises(RPCError):  # no incident was opened for the look-alike's own key
        await client.get_workflow_handle(workflow_id_for(f"b-{tag}")).describe()
    merged = next(m for m in state.members.values() if m.fingerprint == f"b-{tag}-fp1")
    assert merged.title.endswith(f"again {tag}")


async def test_a_cascade_symptom_opens_linked_and_does_not_page(
        dispatcher, shared_engine, incident_worker, tag):
    client = incident_worker.client
    ConfigStore(shared_engine).apply(ConfigDocument(services=[
        Service(id=f"db-{tag}"), Service(id=f"api-{tag}", depends_on=[f"db-{tag}"])]), "test")
    queue(shared_engine, f"root-{tag}", f"Postgres primary down {tag}", f"db-{tag}")
    await dispatcher.drain()
    root = await projected(shared_engine, client, f"root-{tag}")
    queue(shared_engine, f"sym-{tag}", "HTTP 5xx ratio high", f"api-{tag}")
    await dispatcher.drain()
    symptom = await state_of(client, f"sym-{tag}")
    assert symptom.route.root_incident_id == root["id"]
    assert symptom.route.suppress_paging is True
    assert "cascade" in symptom.route.correlation_reason
    assert f"depends on db-{tag}" in symptom.route.correlation_reason


async def test_root_and_symptom_in_one_drain_are_linked_too(
        dispatcher, shared_engine, incident_worker, tag):
    ConfigStore(shared_engine).apply(ConfigDocument(services=[
        Service(id=f"cache-{tag}"), Service(id=f"web-{tag}", depends_on=[f"cache-{tag}"])]),
        "test")
    queue(shared_engine, f"root-{tag}", f"Redis evictions spiking {tag}", f"cache-{tag}")
    queue(shared_engine, f"sym-{tag}", "Slow page renders", f"web-{tag}")
    await dispatcher.drain()
    symptom = await state_of(incident_worker.client, f"sym-{tag}")
    assert symptom.route.root_incident_id == workflow_id_for(f"root-{tag}")
    assert symptom.route.suppress_paging is True


async def test_unrelated_alerts_open_their_own_incidents(
        dispatcher, shared_engine, incident_worker, tag):
    queue(shared_engine, f"x-{tag}", f"Disk almost full {tag}", f"files-{tag}")
    queue(shared_engine, f"y-{tag}", f"Certificate expires soon {tag}", f"edge-{tag}")
    await dispatcher.drain()
    for key in (f"x-{tag}", f"y-{tag}"):
        state = await state_of(incident_worker.client, key)
        assert state.alert_count == 1 and not state.route.root_incident_id


async def test_a_root_opening_after_its_symptom_adopts_it_and_silences_it(
        dispatcher, shared_engine, incident_worker, tag):
    client = incident_worker.client
    ConfigStore(shared_engine).apply(ConfigDocument(services=[
        Service(id=f"queue-{tag}"), Service(id=f"mailer-{tag}", depends_on=[f"queue-{tag}"])]),
        "test")
    queue(shared_engine, f"sym-{tag}", "Mail delivery delayed", f"mailer-{tag}")
    await dispatcher.drain()
    await projected(shared_engine, client, f"sym-{tag}")
    queue(shared_engine, f"root-{tag}", f"Kafka broker down {tag}", f"queue-{tag}")
    await dispatcher.drain()
    root = await state_of(client, f"root-{tag}")
    assert root.route.adopted_symptoms == [workflow_id_for(f"sym-{tag}")]
    handle = client.get_workflow_handle(workflow_id_for(f"sym-{tag}"))

    async def linked():
        state = await handle.query(IncidentWorkflow.state)
        return state if state.route.suppress_paging else None

    for _ in range(500):
        if symptom := await linked():
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError("the symptom was never linked to its root")
    assert symptom.route.root_incident_id == root.incident_id
    assert f"queue-{tag} is upstream" in symptom.route.correlation_reason
    event = await eventually(lambda: [e for e in repo.timeline(shared_engine, symptom.incident_id)
                                      if e["kind"] == "linked"])
    assert "rule cascade" in event[0]["details"]["reason"]
    assert "1 hop(s)" in event[0]["details"]["reason"]


async def test_look_alikes_in_two_clusters_stay_two_incidents(
        dispatcher, shared_engine, incident_worker, tag):
    title = f"search returns 5xx for 9% of requests {tag}"
    for cluster in ("eu-1", "us-1"):
        queue(shared_engine, f"HighErrorRate.search-{tag}.prod.cluster={cluster}", title,
              f"search-{tag}")
    await dispatcher.drain()
    for cluster in ("eu-1", "us-1"):
        state = await state_of(incident_worker.client,
                               f"HighErrorRate.search-{tag}.prod.cluster={cluster}")
        assert state.alert_count == 1


async def test_planning_runs_off_the_event_loop(dispatcher, shared_engine, tag):
    """Correlating a storm's new keys took up to 116 ms per drain; on the loop, every HTTP
    request of the API process waited for it."""
    threads = []
    take_snapshot = dispatcher._correlator.snapshot

    def recorded(now):
        snapshot = take_snapshot(now)
        plan = snapshot.plan

        def planned(*args):
            threads.append(threading.current_thread())
            return plan(*args)

        snapshot.plan = planned
        return snapshot

    dispatcher._correlator.snapshot = recorded
    queue(shared_engine, f"plan-{tag}", "Disk full on db-1", "db")
    assert await dispatcher.drain() == 0
    assert threads and threading.main_thread() not in threads
