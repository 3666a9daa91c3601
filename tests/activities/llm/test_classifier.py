import pytest

from activities.llm.classifier import LocalClassifier
from activities.llm.evaluation import evaluate_classifier, render_report
from workflows.domain.analysis import Category, ClassifyRequest
from workflows.domain.base import Severity

HELD_OUT = "activities/llm/data/alerts_test.jsonl"


@pytest.fixture(scope="module")
def classifier():
    return LocalClassifier.shipped()


def req(title, summary="", **labels):
    return ClassifyRequest(title=title, labels=labels, annotations={"summary": summary})


def test_an_unseen_gpu_alert_name_is_classified_as_accelerator(classifier):
    got = classifier.classify(req("NvidiaGpuFanSpeedLow", "GPU fan failing", severity="warning"))
    assert got.category is Category.GPU_ACCELERATOR
    assert got.classifier == "local"


def test_a_critical_database_outage_is_critical_and_names_its_service(classifier):
    got = classifier.classify(
        req(
            "PostgresPrimaryUnavailable",
            "primary database is down",
            severity="critical",
            service="orders-db",
        )
    )
    assert got.category is Category.DATABASE
    assert got.severity is Severity.CRITICAL and got.priority == "P1"
    assert got.service == "orders-db"
    assert 0 < got.confidence <= 1


def test_staging_pages_less_than_production(classifier):
    prod = classifier.classify(req("HighErrorRate", "5xx errors", severity="critical", env="prod"))
    staging = classifier.classify(
        req("HighErrorRate", "5xx errors", severity="critical", env="staging")
    )
    assert staging.score < prod.score


def test_llm_workload_alerts_land_in_their_own_categories(classifier):
    cases = {
        "LlmTokenSpendAnomaly": Category.COST_QUOTA,
        "FeatureDriftPSIHigh": Category.DRIFT,
        "AnswerHallucinationRatio": Category.MODEL_QUALITY,
        "TritonQueueLatencyHigh": Category.MODEL_SERVING,
    }
    for name, category in cases.items():
        assert classifier.classify(req(name)).category is category, name


def test_held_out_split_reaches_the_documented_quality_floor():
    report = evaluate_classifier(HELD_OUT)
    assert report.category.accuracy >= 0.8
    assert report.severity.within_one >= 0.9
    text = render_report(report)
    assert "macro-F1" in text and "truth \\ pred" in text


EXTERNAL = "activities/llm/data/alerts_external.jsonl"


def test_alert_names_split_the_way_rule_authors_write_them():
    from activities.llm.data.category_rules import name_words

    assert name_words("VLLMKVCacheUsageHigh") == ["vllm", "kv", "cache", "usage", "high"]
    assert name_words("NginxHighHttp5xxErrorRate")[3] == "5xx"
    assert name_words("MysqlTooManyConnections(>80%)")[:2] == ["mysql", "too"]
    assert name_words("RabbitMQNodeDown") == ["rabbitmq", "node", "down"]
    assert name_words("ALB-HTTPCode-ELB-5XX-Count") == ["alb", "http", "code", "elb", "5xx", "count"]
    assert name_words("host_out_of_memory") == name_words("Host Out Of Memory")


def test_exporter_prefixes_and_label_keys_decide_unseen_names(classifier):
    cases = {
        ("PgStatActivityWaitingHigh", "datname"): Category.DATABASE,
        ("DCGMPowerViolation", "gpu"): Category.GPU_ACCELERATOR,
        ("KubeStatefulSetUpdateNotRolledOut", "statefulset"): Category.INFRASTRUCTURE,
        ("CoreDNSPanicCount", "server"): Category.NETWORK,
        ("VaultLeadershipLost", "instance"): Category.SECURITY,
    }
    for (name, key), category in cases.items():
        got = classifier.classify(ClassifyRequest(title=name, labels={key: "x"}))
        assert got.category is category, name


def test_the_authors_severity_label_sets_the_band_unless_the_text_is_stronger(classifier):
    def sev(label, summary="", **labels):
        return classifier.classify(req("SomethingHappened", summary, severity=label, **labels))

    assert sev("critical").severity is Severity.CRITICAL
    assert sev("error").severity is Severity.HIGH
    assert sev("warning").severity is Severity.MEDIUM
    assert sev("info").severity is Severity.LOW
    assert sev("warning", "all replicas are down, writes are failing").severity is Severity.HIGH
    assert sev("critical", env="staging").severity is Severity.HIGH
    assert sev("warning", "Host memory is underutilized").severity is Severity.LOW


def test_external_rules_written_by_others_reach_the_documented_quality_floor():
    report = evaluate_classifier(EXTERNAL)
    assert report.rows >= 150
    assert report.category.accuracy >= 0.9
    assert report.severity.accuracy >= 0.9
    assert report.severity.within_one >= 0.95
