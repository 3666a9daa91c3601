"""The generic JSON alert: documented defaults, identity rules, and every bad input."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from api.ingest.errors import IngestError
from tests.api.ingest.samples import JSON, RECEIVED_AT, payload
from workflows.domain.alerts import AlertStatus, fingerprint_of
from workflows.domain.base import Severity


def parse(registry, body: bytes, headers=JSON):
    return registry.source_for("generic").parse(body, headers, RECEIVED_AT)


def one(registry, alert: dict):
    (parsed,) = parse(registry, orjson.dumps(alert)).alerts
    return parsed


def test_a_single_alert_is_normalised_and_redacted(registry):
    (alert,) = parse(registry, payload("generic_single.json")).alerts
    assert alert.source == "generic"
    assert alert.title == "Nightly backup failed"
    assert alert.labels == {
        "region": "eu-west-1", "alertname": "Nightly backup failed",
        "service": "billing-db", "env": "prod"}
    assert alert.fingerprint == fingerprint_of(alert.labels)
    assert alert.tags.severity is Severity.HIGH
    assert "password=[REDACTED:secret]" in alert.description
    assert alert.annotations["source.sender"] == "backup-cron"
    assert alert.generator_url == "https://ci.example.com/jobs/backup/1234"


def test_only_a_title_is_required_and_defaults_are_documented_ones(registry):
    alert = one(registry, {"title": "Something broke"})
    assert alert.status is AlertStatus.FIRING
    assert alert.starts_at == RECEIVED_AT
    assert alert.labels == {"alertname": "Something broke"}
    assert alert.tags.severity is Severity.MEDIUM


def test_severity_sets_the_tag_but_is_not_identity(registry):
    warning = one(registry, {"title": "Disk", "service": "db", "severity": "warning"})
    critical = one(registry, {"title": "Disk", "service": "db", "severity": "crit"})
    assert warning.fingerprint == critical.fingerprint
    assert (warning.tags.severity, critical.tags.severity) == (Severity.MEDIUM, Severity.CRITICAL)


def test_an_explicit_dedup_key_is_the_identity(registry):
    first = one(registry, {"title": "A", "service": "x", "dedup_key": "k-1"})
    second = one(registry, {"title": "B", "service": "y", "dedup_key": "k-1"})
    assert first.fingerprint == second.fingerprint == fingerprint_of({"dedup_key": "k-1"})
    assert first.annotations["source.dedup_key"] == "k-1"


def test_a_title_with_personal_data_is_redacted_in_the_identity_label_too(registry):
    alert = one(registry, {"title": "Login failures for bob@example.com"})
    assert alert.labels["alertname"] == "Login failures for [REDACTED:email]"


def test_a_list_keeps_order_and_resolves_with_end_time(registry):
    batch = parse(registry, payload("generic_list.json"))
    assert [a.status for a in batch.alerts] == [
        AlertStatus.FIRING, AlertStatus.FIRING, AlertStatus.RESOLVED]
    assert batch.alerts[0].fingerprint == batch.alerts[2].fingerprint
    assert batch.alerts[2].ends_at == datetime(2024, 6, 2, 2, 30, tzinfo=UTC)
    assert batch.alerts[1].tags.metric_type == "quota"


def test_without_starts_at_each_receipt_is_a_new_occurrence(registry):
    body = orjson.dumps({"title": "No time given"})
    source = registry.source_for("generic")
    first = source.parse(body, JSON, RECEIVED_AT).alerts[0]
    later = source.parse(body, JSON, RECEIVED_AT.replace(minute=5)).alerts[0]
    assert first.fingerprint == later.fingerprint
    assert first.id != later.id


def test_a_naive_timestamp_is_read_as_utc(registry):
    alert = one(registry, {"title": "T", "starts_at": "2024-06-02T01:00:00"})
    assert alert.starts_at == datetime(2024, 6, 2, 1, tzinfo=UTC)


def refused(registry, body: bytes, headers=JSON) -> IngestError:
    with pytest.raises(IngestError) as caught:
        parse(registry, body, headers)
    return caught.value


def test_a_single_invalid_alert_is_refused_naming_the_field(registry):
    assert refused(registry, b'{"status": "firing"}').field == "title"
    assert refused(registry, b'{"title": ""}').field == "title"
    assert refused(registry, b'{"title": "x", "status": "open"}').field == "status"
    assert refused(registry, b'{"title": "x", "labels": {"port": 80}}').field == "labels.port"


def test_a_misspelt_field_is_refused_rather_than_ignored(registry):
    error = refused(registry, b'{"title": "x", "severty": "critical"}')
    assert (error.status_code, error.field) == (422, "severty")


def test_a_body_that_is_neither_object_nor_list_is_refused(registry):
    assert refused(registry, b'"firing"').status_code == 422


def test_malformed_json_wrong_type_and_too_many_are_refused(registry):
    assert refused(registry, b"[{]").status_code == 400
    assert refused(registry, b"{}", {"content-type": "text/csv"}).status_code == 415
    error = refused(registry, orjson.dumps([{"title": "x"}] * 6))
    assert (error.status_code, error.field) == (413, "body")


def test_invalid_items_of_a_list_are_reported_by_index(registry):
    body = [{"title": "ok"}, {"title": "x", "starts_at": "soon"}, {"nope": 1}, {"title": "ok2"}]
    batch = parse(registry, orjson.dumps(body))
    assert [a.title for a in batch.alerts] == ["ok", "ok2"]
    assert [(e.index, e.field) for e in batch.rejected] == [(1, "[1].starts_at"), (2, "[2].title")]


def test_a_list_where_everything_is_invalid_accepts_nothing(registry):
    batch = parse(registry, orjson.dumps([{"nope": 1}]))
    assert batch.nothing_accepted
