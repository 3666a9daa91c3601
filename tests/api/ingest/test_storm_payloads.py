"""The benchmark's storm speaks Alertmanager's format exactly, and is reproducible."""

from __future__ import annotations

from api.ingest.base import IngestLimits
from api.ingest.registry import build_registry
from bench.storm import Storm, StormShape
from tests.api.ingest.samples import JSON, RECEIVED_AT


def test_every_storm_body_parses_without_rejections(registry):
    storm = Storm(seed=7, shape=StormShape(identities=300, cascade=0.5))
    source = registry.source_for("alertmanager")
    statuses = set()
    for _ in range(20):
        batch = source.parse(storm.webhook(5, RECEIVED_AT), JSON, RECEIVED_AT)
        assert batch.rejected == [] and len(batch.alerts) == 5
        statuses |= {alert.status for alert in batch.alerts}
    assert len(statuses) == 2


def test_the_same_seed_gives_the_same_storm():
    first = Storm(seed=3).webhook(64, RECEIVED_AT)
    assert first == Storm(seed=3).webhook(64, RECEIVED_AT)
    assert first != Storm(seed=4).webhook(64, RECEIVED_AT)


def test_a_storm_is_mostly_repeats_of_alerts_already_firing():
    storm = Storm(seed=1)
    source = build_registry(IngestLimits()).source_for("alertmanager")
    ids = [
        alert.id
        for _ in range(50)
        for alert in source.parse(storm.webhook(64, RECEIVED_AT), JSON, RECEIVED_AT).alerts
    ]
    assert len(set(ids)) < len(ids) / 2
