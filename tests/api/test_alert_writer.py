"""The writer process stores exactly what the in-process writer stores, and survives its death."""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from api.alert_writer import ProcessWriter, ThreadWriter, WriterUnavailable, build_writer
from infra.db.engine import make_engine
from infra.db.repositories import alerts as repo
from workflows.domain.alerts import Alert, AlertStatus, AlertTags, fingerprint_of, occurrence_id
from workflows.domain.incidents import RouteDecision

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=15)


def record(instance: str) -> repo.AlertRecord:
    labels = {"alertname": "GPUMemoryPressure", "service": "vllm", "instance": instance}
    fp = fingerprint_of(labels)
    alert = Alert(id=occurrence_id(fp, AlertStatus.FIRING, NOW, None), fingerprint=fp,
                  source="test", status=AlertStatus.FIRING, title="GPUMemoryPressure",
                  labels=labels, starts_at=NOW, tags=AlertTags(service="vllm"))
    return repo.record_of(alert, RouteDecision(), "GPUMemoryPressure.vllm.", "k")


@pytest.fixture
async def writer(db_url):
    w = ProcessWriter(db_url, WINDOW)
    await w.start()
    yield w
    await w.close()


async def test_the_writer_process_stores_alerts_counts_and_outbox(writer, db_url):
    a, b = record("a"), record("b")
    assert await writer.store([a, a, b], NOW) == 2  # two new identities: two outbox rows
    assert await writer.store([a], NOW + timedelta(seconds=1)) == 0  # a repeat is no news
    engine = make_engine(db_url)
    try:
        stored = repo.get_alert(engine, a.id)
        assert stored["labels"]["instance"] == "a" and stored["occurrences"] == 3
        assert repo.outbox_pending_count(engine) == 2
    finally:
        engine.dispose()


async def test_a_writer_process_killed_mid_group_fails_that_group_and_is_replaced(writer, db_url):
    await writer.store([record("a")], NOW)
    many = [record(str(i)) for i in range(20_000)]  # about a second of work for the child
    in_flight = asyncio.create_task(writer.store(many, NOW))
    await asyncio.sleep(0.3)
    os.kill(writer._child.process.pid, signal.SIGKILL)
    with pytest.raises(WriterUnavailable):  # the requests in flight are refused: senders retry
        await in_flight
    assert await writer.store([record("b")], NOW) == 1  # a new child took over
    engine = make_engine(db_url)
    try:
        assert repo.lookup(engine, [record("a").id, record("b").id, many[0].id]) == {
            record("a").id, record("b").id}  # the killed group's transaction rolled back
    finally:
        engine.dispose()


async def test_a_writer_process_that_died_idle_is_replaced_without_failing_anything(writer):
    os.kill(writer._child.process.pid, signal.SIGKILL)
    await asyncio.to_thread(writer._child.process.join, 10)
    assert await writer.store([record("c")], NOW) == 1


def test_auto_runs_the_writer_in_a_process_only_for_a_sqlite_file_the_api_opened(tmp_path):
    url = f"sqlite:///{tmp_path}/lim.db"
    engine = make_engine(url)
    assert isinstance(build_writer(url, engine, WINDOW, "auto", engine_injected=True),
                      ThreadWriter)
    pg = "postgresql+psycopg://127.0.0.1/test"
    assert isinstance(build_writer(pg, engine, WINDOW, "auto", engine_injected=False),
                      ThreadWriter)
    assert isinstance(build_writer(url, engine, WINDOW, "auto", engine_injected=False),
                      ProcessWriter)


async def test_a_group_the_database_refused_gets_503_and_nothing_is_lost(tmp_path, api_engine):
    from tests.api.conftest import make_settings, running_api

    settings = make_settings(tmp_path, database_url=str(api_engine.url),
                             ingest={"writer": "process"})
    alert = {"title": "GPUMemoryPressure", "service": "vllm", "severity": "critical"}
    async with running_api(settings, api_engine) as http:
        first = await http.post("/api/v1/alerts", json=alert | {"title": "first"})
        with api_engine.begin() as conn:  # the writer's next transaction fails
            conn.execute(text("ALTER TABLE outbox RENAME TO outbox_away"))
        refused = await http.post("/api/v1/alerts", json=alert)
        assert refused.status_code == 503 and refused.json()["retryable"] is True
        with api_engine.begin() as conn:
            conn.execute(text("ALTER TABLE outbox_away RENAME TO outbox"))
        accepted = await http.post("/api/v1/alerts", json=alert)
    assert first.status_code == 202 and accepted.status_code == 202
    ids = first.json()["accepted"] + accepted.json()["accepted"]
    assert repo.lookup(api_engine, ids) == set(ids)


def test_records_the_child_holds_cross_as_their_id_and_come_back_whole(monkeypatch):
    from api import child_process

    sent, held = child_process.SentRecords(), child_process.HeldRecords()
    a, b = record("a"), record("b")
    forget, items = sent.encode([a, a, b])
    assert not forget and items == [a, a.id, b]  # pickle shares within a group; ids across
    assert held.decode(forget, items) == [a, a, b]
    rerouted = a._replace(dedup_key="GPUMemoryPressure.vllm.prod")  # same occurrence, new route
    forget, items = sent.encode([b, rerouted])
    assert items == [b.id, rerouted]  # a different record for a known id goes out whole
    assert held.decode(forget, items) == [b, rerouted]

    monkeypatch.setattr(child_process, "HELD_RECORDS", 2)
    forget, items = sent.encode([b])  # full: both sides start over, so b goes out whole
    assert forget and items == [b]
    assert held.decode(forget, items) == [b] and held._held == {b.id: b}
