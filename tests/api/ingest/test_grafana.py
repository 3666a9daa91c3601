"""Grafana unified alerting webhook: the Grafana 11 body in, every bad input refused."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from api.ingest.errors import IngestError
from tests.api.ingest.samples import JSON, RECEIVED_AT, payload
from workflows.domain.alerts import AlertStatus, fingerprint_of
from workflows.domain.base import Severity


def parse(registry, body: bytes, headers=JSON):
    return registry.source_for("grafana").parse(body, headers, RECEIVED_AT)


def test_a_grafana_11_body_becomes_a_tagged_alert_with_its_links_kept(registry):
    (alert,) = parse(registry, payload("grafana_11_firing.json")).alerts
    assert alert.source == "grafana"
    assert alert.status is AlertStatus.FIRING
    assert alert.title == "GPU memory pressure"
    assert alert.description == "GPU 3 on gpu-node-07 uses 78.9 GiB of 80 GiB for 5m."
    assert alert.fingerprint == fingerprint_of(alert.labels)
    assert alert.starts_at == datetime(2024, 9, 30, 12, 5, tzinfo=UTC)
    assert alert.ends_at is None
    assert alert.annotations["source.fingerprint"] == "e1a2c3f4b5d60718"
    assert alert.annotations["source.panel_url"].endswith("viewPanel=4")
    assert alert.annotations["source.silence_url"].startswith("https://grafana.example.com/")
    assert orjson.loads(alert.annotations["source.values"]) == {"A": 78.91, "C": 1}
    assert "value=78.91" in alert.annotations["source.value_string"]
    assert alert.tags.severity is Severity.HIGH
    assert (alert.tags.env, alert.tags.team, alert.tags.model_id) == (
        "prod", "ml-platform", "mistral-7b")
    assert alert.tags.metric_type == "gpu_memory"


def test_a_resolved_grafana_alert_has_its_end_time(registry):
    body = orjson.loads(payload("grafana_11_firing.json"))
    body["status"] = "resolved"
    body["alerts"][0] |= {"status": "resolved", "endsAt": "2024-09-30T14:35:00+02:00"}
    (alert,) = parse(registry, orjson.dumps(body)).alerts
    assert alert.status is AlertStatus.RESOLVED
    assert alert.ends_at == datetime(2024, 9, 30, 12, 35, tzinfo=UTC)


def test_the_same_instant_in_another_offset_is_the_same_occurrence(registry):
    body = orjson.loads(payload("grafana_11_firing.json"))
    (local,) = parse(registry, orjson.dumps(body)).alerts
    body["alerts"][0]["startsAt"] = "2024-09-30T12:05:00Z"
    (utc,) = parse(registry, orjson.dumps(body)).alerts
    assert local.id == utc.id


def test_null_values_are_accepted(registry):
    body = orjson.loads(payload("grafana_11_firing.json"))
    body["alerts"][0]["values"] = None
    (alert,) = parse(registry, orjson.dumps(body)).alerts
    assert "source.values" not in alert.annotations


def refused(registry, body: bytes, headers=JSON) -> IngestError:
    with pytest.raises(IngestError) as caught:
        parse(registry, body, headers)
    return caught.value


def test_malformed_json_is_refused_with_its_position(registry):
    error = refused(registry, b'{"receiver": "x" "status": "firing"}')
    assert error.status_code == 400 and "line 1, column 18" in error.reason


def test_a_wrong_content_type_is_refused(registry):
    error = refused(registry, payload("grafana_11_firing.json"), {"content-type": "text/plain"})
    assert error.status_code == 415


def test_an_unknown_payload_version_is_refused_naming_it(registry):
    body = orjson.loads(payload("grafana_11_firing.json")) | {"version": "2"}
    error = refused(registry, orjson.dumps(body))
    assert (error.status_code, error.field) == (422, "version")


def test_too_many_alerts_are_refused(registry):
    body = orjson.loads(payload("grafana_11_firing.json"))
    body["alerts"] = body["alerts"] * 6
    assert refused(registry, orjson.dumps(body)).status_code == 413


def test_bad_items_are_reported_and_good_ones_kept(registry):
    body = orjson.loads(payload("grafana_11_firing.json"))
    good = body["alerts"][0]
    body["alerts"] = [{**good, "labels": None}, good, {**good, "status": "alerting"}]
    batch = parse(registry, orjson.dumps(body))
    assert len(batch.alerts) == 1
    assert [(e.index, e.field) for e in batch.rejected] == [
        (0, "alerts[0].labels"), (2, "alerts[2].status")]
