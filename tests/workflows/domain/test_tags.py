"""Tags come from labels by the documented rules."""

from __future__ import annotations

import pytest

from workflows.domain.base import Severity
from workflows.domain.tags import metric_type_from_name, severity_from_text, tags_from_labels


def test_service_prefers_explicit_service_over_kubernetes_and_job_labels():
    tags = tags_from_labels({"job": "node-exporter", "app": "checkout", "service": "pay"}, {})
    assert tags.service == "pay"
    assert tags_from_labels({"job": "node-exporter", "app": "checkout"}, {}).service == "checkout"
    assert tags_from_labels({"app_kubernetes_io_name": "cart", "job": "x"}, {}).service == "cart"
    assert tags_from_labels({"job": "node-exporter"}, {}).service == "node-exporter"


def test_exporter_names_give_way_to_the_workload_name():
    labels = {"service": "kube-prometheus-stack-kube-state-metrics", "container": "checkout",
              "job": "kube-state-metrics"}
    assert tags_from_labels(labels, {}).service == "checkout"
    assert tags_from_labels({"job": "node-exporter"}, {}).service == "node-exporter"


def test_annotations_are_a_fallback_when_labels_say_nothing():
    tags = tags_from_labels({"alertname": "X"}, {"team": "payments", "service": "pay"})
    assert (tags.team, tags.service) == ("payments", "pay")


@pytest.mark.parametrize(
    "labels,env",
    [
        ({"env": "Production"}, "prod"),
        ({"environment": "stg"}, "staging"),
        ({"stage": "qa"}, "test"),
        ({"env": "sandbox-7"}, "sandbox-7"),
        ({"cluster": "prod-eu-west-1"}, "prod"),
        ({"cluster": "gke-staging-1"}, "staging"),
        ({"namespace": "payments-dev"}, "dev"),
        ({"cluster": "eu-west-1"}, ""),
    ],
)
def test_env_is_canonicalised_and_inferred_from_cluster_names(labels, env):
    assert tags_from_labels(labels, {}).env == env


@pytest.mark.parametrize(
    "word,severity",
    [
        ("critical", Severity.CRITICAL), ("CRIT", Severity.CRITICAL), ("page", Severity.CRITICAL),
        ("P1", Severity.CRITICAL), ("fatal", Severity.CRITICAL), ("emergency", Severity.CRITICAL),
        ("error", Severity.HIGH), ("major", Severity.HIGH), ("high", Severity.HIGH),
        ("p2", Severity.HIGH), ("warning", Severity.MEDIUM), ("warn", Severity.MEDIUM),
        ("minor", Severity.MEDIUM), ("P3", Severity.MEDIUM), ("medium", Severity.MEDIUM),
        ("info", Severity.LOW), ("low", Severity.LOW), ("none", Severity.LOW),
        ("p4", Severity.LOW), ("p5", Severity.LOW), ("sev-1", Severity.CRITICAL),
        ("whatever", Severity.MEDIUM), ("", Severity.MEDIUM),
    ],
)
def test_severity_synonyms_map_to_four_levels(word, severity):
    assert severity_from_text(word) == severity


def test_severity_is_read_from_priority_or_level_when_severity_is_absent():
    assert tags_from_labels({"priority": "P1"}, {}).severity == Severity.CRITICAL
    assert tags_from_labels({"level": "warning"}, {}).severity == Severity.MEDIUM


def test_team_and_model_labels_become_tags():
    tags = tags_from_labels({"owner": "ml-platform", "model_name": "llama-3-70b"}, {})
    assert (tags.team, tags.model_id) == ("ml-platform", "llama-3-70b")
    assert tags_from_labels({"gen_ai_request_model": "gpt-4o"}, {}).model_id == "gpt-4o"


@pytest.mark.parametrize(
    "alertname,metric_type",
    [
        ("LLMTokensPerSecondHigh", "cost"),
        ("tokens_per_request_high", "cost"),
        ("InferenceCostBudgetExceeded", "cost"),
        ("HallucinationRateHigh", "hallucination"),
        ("ToxicOutputDetected", "toxicity"),
        ("GPUMemoryPressure", "gpu_memory"),
        ("GpuOOM", "gpu_memory"),
        ("GPUTemperatureHigh", "gpu_temp"),
        ("EmbeddingDriftDetected", "drift"),
        ("ModelLatencyP99High", "latency"),
        ("TTFTSlow", "latency"),
        ("OpenAIRateLimited", "quota"),
        ("QuotaAlmostExhausted", "quota"),
        ("KubePodOOMKilled", "oom"),
        ("DiskFull", ""),
        ("", ""),
    ],
)
def test_metric_type_is_inferred_from_the_alert_name(alertname, metric_type):
    assert metric_type_from_name(alertname) == metric_type


def test_explicit_metric_type_label_wins_over_inference():
    tags = tags_from_labels({"alertname": "GPUMemoryPressure", "metric_type": "Drift"}, {})
    assert tags.metric_type == "drift"
    assert tags_from_labels({"alertname": "GPUMemoryPressure"}, {}).metric_type == "gpu_memory"


def test_missing_labels_give_empty_tags_and_medium_severity():
    tags = tags_from_labels({}, {})
    assert (tags.service, tags.env, tags.team, tags.model_id, tags.metric_type) == ("",) * 5
    assert tags.severity == Severity.MEDIUM
