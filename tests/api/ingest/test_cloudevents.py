"""CloudEvents 1.0 in structured, batched and binary mode; every bad input refused."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import orjson
import pytest

from api.ingest.errors import IngestError
from api.ingest.sources.cloudevents import BATCH, STRUCTURED
from tests.api.ingest.samples import RECEIVED_AT, payload
from workflows.domain.alerts import AlertStatus, fingerprint_of
from workflows.domain.base import Severity

STRUCTURED_HEADERS = {"content-type": f"{STRUCTURED}; charset=utf-8"}
BATCH_HEADERS = {"content-type": BATCH}
BINARY_HEADERS = {
    "Content-Type": "application/json",
    "ce-specversion": "1.0",
    "ce-id": "b-42",
    "ce-source": "/jobs/quota-watch",
    "ce-type": "com.example.quota.firing",
    "ce-time": "2024-06-02T04:00:00Z",
}


def parse(registry, body: bytes, headers):
    return registry.source_for("cloudevents").parse(body, headers, RECEIVED_AT)


def event(**changes):
    return orjson.loads(payload("cloudevent_structured.json")) | changes


def test_a_structured_event_becomes_an_alert_identified_by_source_and_id(registry):
    (alert,) = parse(registry, payload("cloudevent_structured.json"), STRUCTURED_HEADERS).alerts
    assert alert.source == "cloudevents"
    assert alert.title == "HallucinationRateHigh"
    assert alert.status is AlertStatus.FIRING
    assert alert.starts_at == datetime(2024, 6, 2, 3, 15, tzinfo=UTC)
    assert alert.fingerprint == fingerprint_of(alert.labels)
    assert alert.annotations["source.ce_id"] == "5c2f0f0e-4b7a-4e8e-9a57-0e7d1d9f3b21"
    assert alert.annotations["source.ce_source"] == "//evals.example.com/pipelines/nightly"
    assert "[REDACTED:email]" in alert.description
    assert alert.tags.severity is Severity.HIGH
    assert (alert.tags.model_id, alert.tags.metric_type) == ("claude-3-5-sonnet", "hallucination")


def test_a_redelivered_event_is_the_same_alert_and_another_id_is_another(registry):
    first = parse(registry, orjson.dumps(event()), STRUCTURED_HEADERS).alerts[0]
    again = parse(registry, orjson.dumps(event(time=None)), STRUCTURED_HEADERS).alerts[0]
    other = parse(registry, orjson.dumps(event(id="other")), STRUCTURED_HEADERS).alerts[0]
    assert first.id == again.id != other.id
    assert first.fingerprint == other.fingerprint


def test_a_batch_maps_firing_and_resolved_events(registry):
    batch = parse(registry, payload("cloudevent_batch.json"), BATCH_HEADERS)
    firing, resolved = batch.alerts
    assert (firing.status, resolved.status) == (AlertStatus.FIRING, AlertStatus.RESOLVED)
    assert firing.fingerprint == resolved.fingerprint
    assert resolved.ends_at == datetime(2024, 6, 2, 3, 50, tzinfo=UTC)
    assert firing.tags.metric_type == "drift"


def test_binary_mode_reads_attributes_from_headers_and_data_from_the_body(registry):
    body = orjson.dumps({"service": "chat-api", "severity": "critical", "env": "prod"})
    (alert,) = parse(registry, body, BINARY_HEADERS).alerts
    assert alert.title == "com.example.quota.firing"
    assert alert.starts_at == datetime(2024, 6, 2, 4, tzinfo=UTC)
    assert alert.tags.metric_type == "quota"
    assert alert.annotations["source.ce_id"] == "b-42"


def test_data_base64_holding_json_is_accepted(registry):
    data = base64.b64encode(orjson.dumps({"title": "Encoded"})).decode()
    raw = event(data=None, data_base64=data)
    (alert,) = parse(registry, orjson.dumps(raw), STRUCTURED_HEADERS).alerts
    assert alert.title == "Encoded"


def refused(registry, body: bytes, headers) -> IngestError:
    with pytest.raises(IngestError) as caught:
        parse(registry, body, headers)
    return caught.value


@pytest.mark.parametrize("attribute", ["specversion", "id", "source", "type"])
def test_a_missing_required_attribute_is_refused_naming_it(registry, attribute):
    raw = event()
    del raw[attribute]
    error = refused(registry, orjson.dumps(raw), STRUCTURED_HEADERS)
    assert (error.status_code, error.field) == (422, attribute)


def test_a_missing_binary_header_is_refused_naming_the_header(registry):
    headers = {k: v for k, v in BINARY_HEADERS.items() if k != "ce-source"}
    error = refused(registry, b"{}", headers)
    assert (error.status_code, error.field) == (422, "ce-source")


def test_another_specversion_is_refused(registry):
    error = refused(registry, orjson.dumps(event(specversion="0.3")), STRUCTURED_HEADERS)
    assert error.field == "specversion"


def test_missing_or_non_object_data_is_refused(registry):
    assert refused(registry, orjson.dumps(event(data=None)), STRUCTURED_HEADERS).field == "data"
    assert refused(registry, orjson.dumps(event(data="x")), STRUCTURED_HEADERS).field == "data"
    error = refused(registry, orjson.dumps(event(data={"labels": []})), STRUCTURED_HEADERS)
    assert error.field == "data.labels"
    bad64 = event(data=None, data_base64="!!")
    assert refused(registry, orjson.dumps(bad64), STRUCTURED_HEADERS).field == "data_base64"


def test_a_request_that_is_no_cloudevent_is_refused_as_unsupported_media(registry):
    error = refused(registry, b"{}", {"content-type": "application/json"})
    assert error.status_code == 415 and "ce-*" in error.reason
    binary_xml = BINARY_HEADERS | {"Content-Type": "application/xml"}
    assert refused(registry, b"<a/>", binary_xml).status_code == 415


def test_malformed_json_and_oversized_batches_are_refused(registry):
    assert refused(registry, b"{", STRUCTURED_HEADERS).status_code == 400
    assert refused(registry, b"{}", BATCH_HEADERS).status_code == 422
    error = refused(registry, orjson.dumps([event()] * 6), BATCH_HEADERS)
    assert (error.status_code, error.field) == (413, "body")


def test_bad_events_of_a_batch_are_reported_by_index_and_good_ones_kept(registry):
    missing_id = event()
    del missing_id["id"]
    body = [event(), missing_id, 7, event(id="x", data={"status": "gone"})]
    batch = parse(registry, orjson.dumps(body), BATCH_HEADERS)
    assert len(batch.alerts) == 1
    assert [(e.index, e.field) for e in batch.rejected] == [
        (1, "[1].id"), (2, "[2]"), (3, "[3].data.status")]
