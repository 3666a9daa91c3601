"""Alertmanager webhook v4: real bodies in, complete alerts out; every bad input refused."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from api.ingest.errors import IngestError
from tests.api.ingest.samples import JSON, RECEIVED_AT, payload
from workflows.domain.alerts import AlertStatus, fingerprint_of
from workflows.domain.base import Severity


def parse(registry, body: bytes, headers=JSON):
    return registry.source_for("alertmanager").parse(body, headers, RECEIVED_AT)


def test_a_body_captured_from_a_real_alertmanager_becomes_alerts(registry):
    batch = parse(registry, payload("alertmanager_0.25_captured_firing.json"))
    assert batch.rejected == []
    crash, tokens = batch.alerts
    assert crash.source == "alertmanager"
    assert crash.status is AlertStatus.FIRING
    assert crash.title == "KubePodCrashLooping"
    assert crash.fingerprint == fingerprint_of(crash.labels)
    assert crash.annotations["source.fingerprint"] == "57761a2ed59849b3"
    assert crash.starts_at == datetime(2024, 5, 14, 9, 21, 41, 378123, tzinfo=UTC)
    assert crash.ends_at is None
    assert crash.description.endswith("On-call: [REDACTED:email]")
    assert (crash.tags.service, crash.tags.env, crash.tags.team) == ("checkout", "prod", "payments")
    assert tokens.tags.severity is Severity.CRITICAL
    assert tokens.tags.metric_type == "cost"
    assert tokens.tags.model_id == "llama-3-70b-instruct"


def test_a_resolved_alert_inside_a_firing_group_is_resolved(registry):
    batch = parse(registry, payload("alertmanager_0.25_captured_mixed.json"))
    statuses = {alert.title: alert.status for alert in batch.alerts}
    assert statuses["KubePodCrashLooping"] is AlertStatus.RESOLVED
    resolved = next(a for a in batch.alerts if a.status is AlertStatus.RESOLVED)
    assert resolved.ends_at == datetime(2024, 5, 14, 9, 46, 41, 378000, tzinfo=UTC)


def test_the_027_payload_keeps_identity_across_firing_and_resolved(registry):
    firing = parse(registry, payload("alertmanager_0.27_firing.json")).alerts[0]
    resolved = parse(registry, payload("alertmanager_0.27_resolved.json")).alerts[0]
    assert firing.fingerprint == resolved.fingerprint
    assert firing.id != resolved.id
    assert "[REDACTED:phone]" in firing.description
    assert "[REDACTED:api_key]" in parse(
        registry, payload("alertmanager_0.27_firing.json")
    ).alerts[1].description
    assert firing.labels["pod"] == "checkout-7f9c6d5b8-x2x9k"
    assert firing.generator_url.startswith("http://prometheus.monitoring:9090/graph")


def test_a_repeated_delivery_gives_the_same_alert_ids(registry):
    body = payload("alertmanager_0.27_firing.json")
    first = [a.id for a in parse(registry, body).alerts]
    again = [a.id for a in parse(registry, body).alerts]
    assert first == again


def test_the_same_labels_from_alertmanager_and_generic_json_are_the_same_alert(registry):
    am = parse(registry, payload("alertmanager_0.25_captured_firing.json")).alerts[0]
    generic_body = orjson.dumps({"title": am.labels["alertname"], "labels": am.labels})
    generic = registry.source_for("generic").parse(generic_body, JSON, RECEIVED_AT).alerts[0]
    assert generic.fingerprint == am.fingerprint


def test_a_truncated_group_is_recorded_on_its_alerts(registry):
    body = orjson.loads(payload("alertmanager_0.27_firing.json"))
    body["truncatedAlerts"] = 12
    alert = parse(registry, orjson.dumps(body)).alerts[0]
    assert alert.annotations["source.truncated_alerts"] == "12"


# --- bad input --------------------------------------------------------------------------------


def refused(registry, body: bytes, headers=JSON) -> IngestError:
    with pytest.raises(IngestError) as caught:
        parse(registry, body, headers)
    return caught.value


def test_malformed_json_is_refused_with_line_and_column(registry):
    error = refused(registry, b'{"version": "4",\n  "alerts": [,]}')
    assert error.status_code == 400
    assert "line 2, column 14" in error.reason


def test_an_empty_body_is_refused(registry):
    assert refused(registry, b"").status_code == 400


def test_a_wrong_content_type_is_refused(registry):
    error = refused(
        registry,
        payload("alertmanager_0.27_firing.json"),
        {"content-type": "application/x-www-form-urlencoded"},
    )
    assert (error.status_code, error.field) == (415, "content-type")
    assert "application/json" in error.reason


def test_a_charset_parameter_is_accepted(registry):
    headers = {"Content-Type": "application/json; charset=utf-8"}
    assert parse(registry, payload("alertmanager_0.27_firing.json"), headers).alerts


@pytest.mark.parametrize(
    "change,field",
    [
        ({"version": "3"}, "version"),
        ({"alerts": {"not": "a list"}}, "alerts"),
        ({"receiver": None}, "receiver"),
        ({"status": "pending"}, "status"),
    ],
)
def test_a_wrong_envelope_is_refused_naming_the_field(registry, change, field):
    body = orjson.loads(payload("alertmanager_0.27_firing.json")) | change
    error = refused(registry, orjson.dumps(body))
    assert (error.status_code, error.field) == (422, field)


def test_a_missing_version_is_refused_naming_it(registry):
    body = orjson.loads(payload("alertmanager_0.27_firing.json"))
    del body["version"]
    error = refused(registry, orjson.dumps(body))
    assert (error.status_code, error.field) == (422, "version")


def test_too_many_alerts_in_one_request_is_refused_with_the_limit(registry):
    body = orjson.loads(payload("alertmanager_0.27_firing.json"))
    body["alerts"] = body["alerts"] * 3
    error = refused(registry, orjson.dumps(body))
    assert (error.status_code, error.field) == (413, "alerts")
    assert "6 alerts" in error.reason and "limit is 5" in error.reason


def test_bad_items_are_reported_by_index_and_good_ones_kept(registry):
    body = orjson.loads(payload("alertmanager_0.27_firing.json"))
    good = body["alerts"][0]
    bad_label = good | {"labels": {"alertname": "X", "replicas": 3}}
    bad_time = good | {"startsAt": "yesterday"}
    body["alerts"] = [good, bad_label, "not an object", bad_time]
    batch = parse(registry, orjson.dumps(body))
    assert [a.title for a in batch.alerts] == ["KubePodCrashLooping"]
    assert [(e.index, e.field) for e in batch.rejected] == [
        (1, "alerts[1].labels.replicas"),
        (2, "alerts[2]"),
        (3, "alerts[3].startsAt"),
    ]
    assert not batch.nothing_accepted
