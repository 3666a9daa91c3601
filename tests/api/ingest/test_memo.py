"""Byte-identical Alertmanager items are served from memory: same result, errors still named."""

from __future__ import annotations

import orjson

from api.ingest.base import IngestLimits
from api.ingest.sources.alertmanager import AlertmanagerSource
from tests.api.ingest.samples import JSON, RECEIVED_AT


def item(instance: str = "a", status: str = "firing", ends_at="0001-01-01T00:00:00Z") -> dict:
    return {"status": status, "labels": {"alertname": "HighLatency", "instance": instance},
            "annotations": {"summary": "slow"}, "startsAt": "2024-06-02T11:00:00Z",
            "endsAt": ends_at}


def body(*items: dict, receiver: str = "lim") -> bytes:
    return orjson.dumps({"version": "4", "status": "firing", "receiver": receiver,
                         "groupKey": "{}:{}", "alerts": list(items)})


def parse(source: AlertmanagerSource, raw: bytes):
    return source.parse(raw, JSON, RECEIVED_AT)


def test_a_repeat_is_the_same_alert_as_a_fresh_parse():
    source = AlertmanagerSource(IngestLimits())
    first = parse(source, body(item(), item("b")))
    again = parse(source, body(item("b"), item()))
    fresh = parse(AlertmanagerSource(IngestLimits()), body(item("b"), item()))
    assert [a.id for a in again.alerts] == [first.alerts[1].id, first.alerts[0].id]
    assert again.alerts[1] is first.alerts[0]  # served from the memo
    assert again.alerts == fresh.alerts


def test_a_firing_repeat_with_a_moving_expiry_is_a_repeat():
    source = AlertmanagerSource(IngestLimits())
    first = parse(source, body(item(ends_at="2024-06-02T11:04:00Z")))
    again = parse(source, body(item(ends_at="2024-06-02T11:08:00Z")))
    assert again.alerts[0] is first.alerts[0]
    assert again.alerts[0].ends_at is None


def test_an_invalid_expiry_on_a_repeat_is_still_rejected_by_field():
    source = AlertmanagerSource(IngestLimits())
    parse(source, body(item()))
    batch = parse(source, body(item(), item(ends_at="yesterday")))
    assert len(batch.alerts) == 1
    assert [(r.index, r.field) for r in batch.rejected] == [(1, "alerts[1].endsAt")]


def test_errors_name_the_sent_index_when_other_items_are_repeats():
    source = AlertmanagerSource(IngestLimits())
    parse(source, body(item(), item("b")))
    broken = {**item("c"), "labels": {"alertname": 5}}
    batch = parse(source, body(item(), broken, item("b"), item("d")))
    assert [(r.index, r.field) for r in batch.rejected] == [(1, "alerts[1].labels.alertname")]
    assert [a.labels["instance"] for a in batch.alerts] == ["a", "b", "d"]


def test_the_request_context_is_part_of_the_key():
    source = AlertmanagerSource(IngestLimits())
    one = parse(source, body(item(), receiver="one")).alerts[0]
    two = parse(source, body(item(), receiver="two")).alerts[0]
    assert one.annotations["source.receiver"] == "one"
    assert two.annotations["source.receiver"] == "two"
