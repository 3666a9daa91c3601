from datetime import UTC, datetime

from workflows.domain.analysis import (
    SEVERITY_WEIGHTS,
    Category,
    Classification,
    Diagnosis,
    Hypothesis,
    SeverityFactors,
    TokenUsage,
    severity_for_score,
)
from workflows.domain.base import Severity


def test_severity_weights_sum_to_one_so_the_score_stays_in_unit_range():
    assert abs(sum(SEVERITY_WEIGHTS.values()) - 1.0) < 1e-9
    assert SeverityFactors(impact=1, urgency=1, scope=1, business_criticality=1).score == 1.0
    assert SeverityFactors(impact=0, urgency=0, scope=0, business_criticality=0).score == 0.0


def test_score_bands_map_to_severities_and_priorities():
    assert severity_for_score(0.9) is Severity.CRITICAL
    assert severity_for_score(0.7) is Severity.HIGH
    assert severity_for_score(0.5) is Severity.MEDIUM
    assert severity_for_score(0.1) is Severity.LOW
    made = Classification(category=Category.DATABASE, severity=Severity.HIGH, score=0.7)
    assert made.priority == "P2"


def test_token_usage_adds_up_including_cache_tokens_and_cost():
    a = TokenUsage(input_tokens=10, output_tokens=5, cache_read_input_tokens=100, cost_usd=0.01)
    b = TokenUsage(input_tokens=1, cache_creation_input_tokens=50, cost_usd=0.002)
    total = a.plus(b)
    assert total.total == 166
    assert total.cost_usd == 0.012


def test_diagnosis_round_trips_through_json_like_workflow_history_does():
    diagnosis = Diagnosis(hypotheses=[Hypothesis(cause="unknown", confidence=0.1)])
    assert Diagnosis.model_validate_json(diagnosis.model_dump_json()) == diagnosis
    assert diagnosis.top.cause == "unknown"


def test_timestamps_keep_their_timezone():
    from workflows.domain.analysis import ChangeEvent

    at = datetime(2024, 1, 1, tzinfo=UTC)
    assert ChangeEvent(time=at, service="api").time.tzinfo is not None
