"""`analysis.diagnose` reads the alerts' recent values from Prometheus, end to end.

The incident's alert is stored in a real, migrated database (SQLite; PostgreSQL too for the
main case) with the `generatorURL` Prometheus gives it; the activity runs in Temporal's
`ActivityEnvironment` against the real, backfilled Prometheus from conftest.py (errors on
`checkout` rose from 1/s to 10/s when the alert fired). Failure cases use an address nobody
listens on and a wire fake that never answers.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import httpx
import pytest
from temporalio.testing import ActivityEnvironment

from activities.analysis_record import AnalysisRecordActivities
from activities.llm.fallback import build_analyzer, build_local_engine
from activities.llm.prometheus import AlertMetrics, PrometheusClient, build_alert_metrics
from infra.db.engine import make_engine
from infra.db.tables.core import AlertCounterRow, AlertRow
from infra.settings.ai import AiSettings
from tests.activities.llm.conftest import ALERT_QUERY, FakePrometheus, free_port
from tests.vendors.anthropic_server import API_KEY, AnthropicServer
from workflows.analysis_flow import AnalysisTask
from workflows.domain.analysis import Diagnosis, EvidenceSource

SERIES_QUERY = "sum by (service) (rate(http_requests_errors_total[2m]))"  # threshold stripped


@pytest.fixture(scope="module")
def local_engine():
    return build_local_engine(AiSettings())


@pytest.fixture
def either_engine(db_url):
    """SQLite hands back naive times, PostgreSQL aware ones: both must line up with Prometheus."""
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def store_alert(engine, starts_at: datetime, generator_url: str) -> None:
    with engine.begin() as conn:
        conn.execute(AlertRow.__table__.insert().values(
            id="a1", fingerprint="fp1", dedup_key="k", source="alertmanager", status="firing",
            title="CheckoutErrorsHigh", description="checkout is serving errors",
            service="checkout", labels={"alertname": "CheckoutErrorsHigh"}, annotations={},
            env="prod", severity="high", team="", model_id="", metric_type="",
            starts_at=starts_at, generator_url=generator_url, received_at=starts_at,
            key_id=""))
        conn.execute(AlertCounterRow.__table__.insert().values(
            alert_id="a1", occurrences=1, last_received_at=starts_at))


def incident(opened_at: datetime, at: datetime) -> AnalysisTask:
    return AnalysisTask(incident_id="inc-1", title="CheckoutErrorsHigh", service="checkout",
                        fingerprints=["fp1"], opened_at=opened_at, at=at)


async def diagnose(engine, analyzer, task: AnalysisTask, base_url: str | None,
                   timeout: float = 10.0) -> Diagnosis:
    async with httpx.AsyncClient() as http:
        metrics = None if base_url is None else AlertMetrics(
            PrometheusClient(base_url, http), timedelta(minutes=30), 60, timeout)
        acts = AnalysisRecordActivities(engine, analyzer, graph=dict, metrics=metrics)
        return await ActivityEnvironment().run(acts.diagnose, task)


def metric_evidence(diagnosis: Diagnosis):
    return [e for h in diagnosis.hypotheses for e in h.evidence
            if e.source == EvidenceSource.METRIC]


async def test_the_alerts_prometheus_series_is_cited_as_evidence(
        either_engine, local_engine, real_prometheus):
    prom, engine = real_prometheus, either_engine
    store_alert(engine, prom.surge, prom.graph_link(ALERT_QUERY))
    analyzer = build_analyzer(AiSettings(), local=local_engine)
    task = incident(prom.surge, prom.end)
    diagnosis = await diagnose(engine, analyzer, task, prom.url)
    top = diagnosis.hypotheses[0]
    assert top.service == "checkout"
    (cited,) = [e for e in top.evidence if e.source == EvidenceSource.METRIC]
    # The series under the threshold, so the half hour before the alert is the baseline.
    assert cited.ref == f'prometheus:{SERIES_QUERY}{{service="checkout"}}'
    # 1 error/s before the alert (a little under at the window's edge), 10/s since.
    assert "deviates 100% from baseline" in cited.detail
    assert float(cited.detail.rsplit(" ", 1)[1]) == pytest.approx(1, rel=0.05)
    assert "prometheus: 1 series from 1 alert queries" in diagnosis.notes
    without = await diagnose(engine, analyzer, task, None)
    assert not metric_evidence(without) and "prometheus" not in without.notes
    assert top.confidence > without.hypotheses[0].confidence  # the anomaly's size now counts


async def test_claude_is_sent_the_prometheus_series_too(engine, local_engine, real_prometheus):
    prom = real_prometheus
    store_alert(engine, prom.surge, prom.graph_link(ALERT_QUERY))
    async with AnthropicServer() as claude:
        settings = AiSettings(anthropic_api_key=API_KEY, anthropic_base_url=claude.url)
        claude.answer({"hypotheses": [{
            "cause": "checkout error surge", "service": "checkout", "category": "application",
            "confidence": 0.7, "evidence": [{"source": "metric", "ref": f"prometheus:{SERIES_QUERY}",
                                             "detail": "errors 1/s -> 10/s"}]}]})
        diagnosis = await diagnose(engine, build_analyzer(settings, local=local_engine),
                                   incident(prom.surge, prom.end), prom.url)
        sent = json.loads(claude.received[0].json["messages"][0]["content"])
    assert diagnosis.analyzer == "llm"
    (series,) = sent["bundle"]["metrics"]
    assert series["ref"] == f'prometheus:{SERIES_QUERY}{{service="checkout"}}'
    assert series["baseline"] == pytest.approx(1, rel=0.05) and len(series["points"]) == 60
    assert "prometheus: 1 series" in diagnosis.notes


async def test_an_unreachable_prometheus_still_yields_a_diagnosis_with_a_note(
        engine, local_engine, real_prometheus):
    prom = real_prometheus
    store_alert(engine, prom.surge, prom.graph_link(ALERT_QUERY))
    nobody = f"http://127.0.0.1:{free_port()}"
    diagnosis = await diagnose(engine, build_analyzer(AiSettings(), local=local_engine),
                               incident(prom.surge, prom.end), nobody)
    assert diagnosis.hypotheses[0].service == "checkout"  # the alert alone still points there
    assert not metric_evidence(diagnosis)
    assert "data unavailable for " + SERIES_QUERY in diagnosis.notes
    assert "unreachable" in diagnosis.notes


async def test_a_prometheus_that_never_answers_becomes_a_note_not_a_hang(engine, local_engine):
    async with FakePrometheus() as fake:
        fake.hang()
        now = datetime.now().astimezone()
        store_alert(engine, now - timedelta(minutes=5), fake.url + "/graph?g0.expr=up+%3D%3D+0")
        diagnosis = await diagnose(engine, build_analyzer(AiSettings(), local=local_engine),
                                   incident(now - timedelta(minutes=5), now), fake.url,
                                   timeout=0.2)
    assert diagnosis.hypotheses and "up (no answer within 0.2s)" in diagnosis.notes


async def test_a_query_prometheus_rejects_becomes_a_note(engine, local_engine, real_prometheus):
    prom = real_prometheus
    store_alert(engine, prom.surge, prom.graph_link("rate(http_requests_errors_total > 5"))
    diagnosis = await diagnose(engine, build_analyzer(AiSettings(), local=local_engine),
                               incident(prom.surge, prom.end), prom.url)
    assert diagnosis.hypotheses and not metric_evidence(diagnosis)
    assert "data unavailable" in diagnosis.notes and "HTTP 400" in diagnosis.notes


async def test_alerts_without_a_prometheus_expression_query_nothing(engine, local_engine):
    async with FakePrometheus() as fake:
        now = datetime.now().astimezone()
        store_alert(engine, now, "http://grafana:3000/alerting/grafana/abc/view?orgId=1")
        diagnosis = await diagnose(engine, build_analyzer(AiSettings(), local=local_engine),
                                   incident(now, now + timedelta(minutes=1)), fake.url)
    assert not fake.received and "prometheus" not in diagnosis.notes


def test_prometheus_is_wired_only_when_its_url_is_set():
    assert build_alert_metrics(AiSettings()) is None
    wired = build_alert_metrics(AiSettings(prometheus_url="http://prom:9090",
                                           prometheus_lookback_minutes=45))
    assert isinstance(wired, AlertMetrics) and wired.lookback == timedelta(minutes=45)
