"""Fixtures for alert source tests: the real registry, with a small batch limit to test it."""

from __future__ import annotations

import pytest

from api.ingest.base import IngestLimits
from api.ingest.registry import SourceRegistry, build_registry


@pytest.fixture
def registry() -> SourceRegistry:
    return build_registry(IngestLimits(max_batch_alerts=5))
