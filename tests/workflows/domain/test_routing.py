"""Routing: first match wins, regexes, tags as keys, continue, defaults, suppression."""

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from workflows.domain.alerts import Alert, AlertStatus, AlertTags
from workflows.domain.base import Severity
from workflows.domain.config import MaintenanceWindow, Route, Service, Silence
from workflows.domain.routing import route_alert, route_alert_all, suppressed_by

NOW = datetime(2025, 5, 1, 12, tzinfo=UTC)


def alert(labels=None, **tags) -> Alert:
    return Alert(id="a1", fingerprint="f1", source="test", status=AlertStatus.FIRING,
                 title="t", labels=labels or {}, starts_at=NOW, tags=AlertTags(**tags))


ROUTES = [
    Route(id="inference-critical", match={"service": "inference-api", "severity": "critical"},
          escalation_policy="ml-critical"),
    Route(match_re={"model_id": "llama-.*"}, escalation_policy="ml-default",
          group_by=["alertname", "model_id"]),
    Route(id="catch-all-prod", match={"env": "prod"}, escalation_policy="prod-default"),
]


def test_first_matching_route_wins():
    decision = route_alert(alert(service="inference-api", severity=Severity.CRITICAL,
                                 env="prod"), ROUTES)
    assert decision.route_id == "inference-critical"
    assert decision.escalation_policy_id == "ml-critical"
    assert decision.group_by == ["alertname", "service", "env"]
    assert decision.service == "inference-api"


def test_regex_matches_the_whole_tag_value_and_unnamed_routes_get_their_position():
    decision = route_alert(alert(model_id="llama-3-70b", env="prod"), ROUTES)
    assert (decision.route_id, decision.escalation_policy_id) == ("route-2", "ml-default")
    assert decision.group_by == ["alertname", "model_id"]
    assert route_alert(alert(model_id="not-llama-3", env="dev"), ROUTES).route_id == "default"


def test_labels_are_matched_when_no_tag_has_the_name():
    routes = [Route(match={"cluster": "eu-1"}, escalation_policy="eu")]
    assert route_alert(alert({"cluster": "eu-1"}), routes).escalation_policy_id == "eu"


def test_continue_lets_later_routes_apply_too():
    routes = [Route(id="audit", match={"env": "prod"}, escalation_policy="audit",
                    **{"continue": True}), *ROUTES]
    decisions = route_alert_all(alert(env="prod"), routes)
    assert [d.route_id for d in decisions] == ["audit", "catch-all-prod"]


def test_no_match_falls_back_to_the_services_policy_then_the_default():
    services = [Service(id="embedder", team="ml", escalation_policy="ml-default")]
    decision = route_alert(alert(service="embedder"), [], services=services,
                           default_policy="everyone")
    assert (decision.route_id, decision.escalation_policy_id, decision.team) == (
        "default", "ml-default", "ml")
    assert route_alert(alert(service="other"), [], services=services,
                       default_policy="everyone").escalation_policy_id == "everyone"


def test_bad_regex_is_refused_when_the_route_is_built():
    with pytest.raises(ValidationError, match="not a valid regex"):
        Route(match_re={"service": "("})


def test_maintenance_window_suppresses_only_its_services_while_open():
    window = MaintenanceWindow(id="upgrade", services=["inference-api"], start=NOW,
                               end=NOW + timedelta(hours=1))
    firing = alert(service="inference-api")
    assert "maintenance window upgrade" in suppressed_by(firing, NOW, [window])
    assert suppressed_by(firing, NOW + timedelta(hours=1), [window]) == ""
    assert suppressed_by(alert(service="other"), NOW, [window]) == ""


def test_silence_suppresses_matching_alerts_until_it_expires():
    silence = Silence(match_re={"alertname": "GPU.*"}, until=NOW + timedelta(minutes=30),
                      comment="driver rollout")
    gpu = alert({"alertname": "GPUMemoryHigh"})
    assert suppressed_by(gpu, NOW, silences=[silence]).endswith("driver rollout")
    assert suppressed_by(gpu, NOW + timedelta(minutes=30), silences=[silence]) == ""


def test_a_route_can_keep_one_incident_across_clusters_and_says_so_in_the_decision():
    routes = [Route(id="certs", match={"alertname": "CertExpiring"}, split_by_scope=False)]
    assert route_alert(alert({"alertname": "CertExpiring"}), routes).split_by_scope is False
    assert route_alert(alert({"alertname": "Other"}), routes).split_by_scope is True
