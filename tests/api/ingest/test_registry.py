"""The source registry: every source reachable by its stable kind; limits and errors."""

from __future__ import annotations

import pytest

from api.ingest.base import IngestLimits
from api.ingest.errors import IngestError, ensure_body_within, field_path
from api.ingest.registry import SOURCE_TYPES, SourceRegistry, build_registry


def test_every_listed_source_is_registered_under_its_kind(registry):
    assert registry.kinds == ["alertmanager", "cloudevents", "generic", "grafana"]
    for kind in registry.kinds:
        assert registry.source_for(kind).kind == kind


def test_an_unknown_kind_is_a_404():
    with pytest.raises(IngestError) as caught:
        build_registry(IngestLimits()).source_for("pagerduty")
    assert caught.value.status_code == 404


def test_two_sources_with_one_kind_are_a_configuration_error():
    source = SOURCE_TYPES[0](IngestLimits())
    with pytest.raises(ValueError):
        SourceRegistry([source, source])


def test_a_body_over_the_limit_is_413_and_says_retrying_will_not_help():
    ensure_body_within(1024, 1024)
    with pytest.raises(IngestError) as caught:
        ensure_body_within(1025, 1024)
    assert caught.value.status_code == 413
    assert caught.value.as_json() == {
        "error": "body is 1025 bytes; the limit is 1024 bytes", "field": "body",
        "retryable": False}


def test_field_paths_read_like_the_payload():
    assert field_path("", ("alerts", 3, "labels", "x")) == "alerts[3].labels.x"
    assert field_path("[2]", ("data", "title")) == "[2].data.title"
    assert field_path("alerts[1]", ()) == "alerts[1]"
