"""The writer process stores exactly what the in-process writer stores, and survives its death."""

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime, timedelta

import pytest

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


async def test_a_killed_writer_process_fails_its_group_and_is_replaced(writer, db_url):
    await writer.store([record("a")], NOW)
    (child,) = writer._pool._processes  # noqa: SLF001 - the test kills the real child
    os.kill(child, signal.SIGKILL)
    with pytest.raises(WriterUnavailable):  # the request in flight is refused: sender retries
        await writer.store([record("b")], NOW)
    assert await writer.store([record("b")], NOW) == 1  # a new child took over
    engine = make_engine(db_url)
    try:
        assert repo.lookup(engine, [record("a").id, record("b").id]) == {record("a").id,
                                                                          record("b").id}
    finally:
        engine.dispose()


def test_auto_runs_the_writer_in_a_process_only_for_a_sqlite_file_the_api_opened(tmp_path):
    url = f"sqlite:///{tmp_path}/lim.db"
    engine = make_engine(url)
    assert isinstance(build_writer(url, engine, WINDOW, "auto", engine_injected=True),
                      ThreadWriter)
    pg = "postgresql+psycopg://127.0.0.1/test"
    assert isinstance(build_writer(pg, engine, WINDOW, "auto", engine_injected=False),
                      ThreadWriter)
    writer = build_writer(url, engine, WINDOW, "auto", engine_injected=False)
    assert isinstance(writer, ProcessWriter)
    writer._pool.shutdown()  # noqa: SLF001


async def test_a_request_whose_writer_died_gets_503_and_its_retry_is_stored(tmp_path, api_engine):
    from tests.api.conftest import make_settings, running_api

    settings = make_settings(tmp_path, database_url=str(api_engine.url),
                             ingest={"writer": "process"})
    async with running_api(settings, api_engine) as http:
        writer = http.app.state.lim.intake._writer  # noqa: SLF001 - the test kills the real child
        (child,) = writer._pool._processes  # noqa: SLF001
        os.kill(child, signal.SIGKILL)
        alert = {"title": "GPUMemoryPressure", "service": "vllm", "severity": "critical"}
        refused = await http.post("/api/v1/alerts", json=alert)
        assert refused.status_code == 503 and refused.json()["retryable"] is True
        accepted = await http.post("/api/v1/alerts", json=alert)
        assert accepted.status_code == 202
        assert repo.lookup(api_engine, accepted.json()["accepted"])
