from datetime import UTC, datetime, timedelta

import pytest

from activities.llm.analyzer import LocalAnalyzer
from activities.llm.runbooks import RunbookFormatError, RunbookLibrary, parse_runbook
from workflows.domain.analysis import (
    AnalysisBundle,
    Category,
    ChangeEvent,
    ChangeKind,
    DiagnoseRequest,
    EvidenceSource,
    LogLine,
    MetricPoint,
    MetricSeries,
    ObservedAlert,
)

T = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def at(minutes):
    return T + timedelta(minutes=minutes)


@pytest.fixture(scope="module")
def analyzer():
    return LocalAnalyzer(RunbookLibrary.load())


def db_cascade(changes=()):
    return AnalysisBundle(
        alerts=[
            ObservedAlert(title="HighErrorRate", service="web", starts_at=at(5)),
            ObservedAlert(
                title="PostgresqlTooManyConnections",
                service="payments-db",
                starts_at=at(2),
                description="connection slots exhausted",
            ),
        ],
        logs=[
            LogLine(
                time=at(1),
                service="payments-db",
                level="fatal",
                message="remaining connection slots are reserved",
            )
        ],
        metrics=[
            MetricSeries(service="payments-db", name="pg_connections", baseline=100, current=198)
        ],
        dependencies={"web": ["checkout"], "checkout": ["payments-db"]},
        changes=list(changes),
    )


def test_the_most_upstream_anomalous_service_with_a_recent_change_is_the_top_hypothesis(analyzer):
    change = ChangeEvent(
        time=at(-10),
        service="payments-db",
        kind=ChangeKind.CONFIG,
        description="max_connections 200->100",
        ref="chg_1",
    )
    noise = ChangeEvent(time=at(-5), service="search", description="deploy v2", ref="chg_2")
    diagnosis = analyzer.diagnose(DiagnoseRequest(bundle=db_cascade([change, noise])))
    top = diagnosis.top
    assert top.service == "payments-db" and top.category is Category.DATABASE
    assert "max_connections" in top.cause
    assert {e.source for e in top.evidence} >= {
        EvidenceSource.ALERT,
        EvidenceSource.METRIC,
        EvidenceSource.LOG,
        EvidenceSource.CHANGE,
    }
    assert 2 <= len(diagnosis.hypotheses) <= 3
    assert diagnosis.analyzer == "local"


def test_a_change_on_a_quiet_service_is_never_blamed(analyzer):
    noise = ChangeEvent(time=at(-5), service="search", description="deploy v2")
    diagnosis = analyzer.diagnose(DiagnoseRequest(bundle=db_cascade([noise])))
    assert all(h.service != "search" for h in diagnosis.hypotheses)


def test_remediation_comes_from_the_matching_runbook(analyzer):
    diagnosis = analyzer.diagnose(DiagnoseRequest(bundle=db_cascade()))
    assert diagnosis.runbooks[0].runbook_id == "db-connection-exhaustion"
    assert diagnosis.remediation and all(step.risk for step in diagnosis.remediation)


def test_without_evidence_the_answer_is_unknown(analyzer):
    diagnosis = analyzer.diagnose(DiagnoseRequest(title="something odd"))
    assert diagnosis.top.cause == "unknown"
    assert diagnosis.top.evidence == []


def test_every_shipped_runbook_parses_and_has_risk_rated_commands():
    library = RunbookLibrary.load()
    assert len(library.runbooks) >= 15
    for runbook in library.runbooks:
        assert runbook.remediation, runbook.runbook_id


def test_retrieval_ranks_the_fitting_runbook_first():
    library = RunbookLibrary.load()
    cases = {
        "GPU temperature 89C thermal throttling": "gpu-temperature",
        "LLM token spend tripled": "token-cost-spike",
        "pod CrashLoopBackOff restarting": "crashloop-pod",
        "insufficient_quota quota exceeded": "quota-exhaustion",
    }
    for text, expected in cases.items():
        assert library.search(text)[0][0].runbook_id == expected, text
    assert library.search("zebra giraffe") == []


def test_a_runbook_without_front_matter_is_rejected_with_its_name(tmp_path):
    bad = tmp_path / "bad.md"
    bad.write_text("# no front matter")
    with pytest.raises(RunbookFormatError, match="bad.md"):
        parse_runbook(bad)


def test_a_series_baseline_from_before_the_alert_beats_the_first_half_of_its_points(analyzer):
    """Prometheus series come with the level before the alert fired: when the surge already
    fills most of the window, the first half of the points is no baseline at all."""
    points = [MetricPoint(time=at(m), value=1.0 if m < 1 else 10.0) for m in range(10)]
    series = MetricSeries(service="checkout", name="errors", points=points,
                          ref="prometheus:errors")
    half_only = analyzer.diagnose(DiagnoseRequest(bundle=AnalysisBundle(metrics=[series])))
    assert not any(e.source == EvidenceSource.METRIC
                   for h in half_only.hypotheses for e in h.evidence)
    with_base = series.model_copy(update={"baseline": 1.0})
    found = analyzer.diagnose(DiagnoseRequest(bundle=AnalysisBundle(metrics=[with_base])))
    (cited,) = [e for e in found.hypotheses[0].evidence if e.source == EvidenceSource.METRIC]
    assert cited.ref == "prometheus:errors" and cited.detail.endswith("from baseline 1")


@pytest.mark.parametrize("title, description", [
    # Each of the first three was named differently by the analyzer's old keyword table
    # (database, network, cost_quota) than by triage.
    ("KubeHpaMaxedOut", "HPA is running at max replicas"),
    ("HaproxyHighHttp5xxErrorRateBackend", "HAProxy high HTTP 5xx error rate backend"),
    ("RdsCpuCreditsExhausted", "RDS CPU credit balance low"),
    ("LlmTokenSpendAnomaly", "token spend 4x the daily budget"),
    ("NvidiaGpuFanSpeedLow", "GPU fan failing"),
])
def test_diagnosis_names_the_category_triage_names(analyzer, title, description):
    """One category table for both: the analyzer scores with the classifier's own evidence."""
    from activities.llm.classifier import LocalClassifier
    from workflows.domain.analysis import ClassifyRequest

    triage = LocalClassifier.shipped().classify(ClassifyRequest(
        title=title, annotations={"summary": description}))
    bundle = AnalysisBundle(alerts=[ObservedAlert(title=title, service="svc", starts_at=at(0),
                                                  description=description)])
    assert analyzer.diagnose(DiagnoseRequest(bundle=bundle)).top.category is triage.category
