"""The explicit list of alert sources, and lookup by `kind`.

Adding a source is one module under `api/ingest/sources/` and one line in `SOURCE_TYPES`.
"""

from __future__ import annotations

from collections.abc import Callable

from api.ingest.base import AlertSource, IngestLimits
from api.ingest.errors import IngestError
from api.ingest.sources.alertmanager import AlertmanagerSource
from api.ingest.sources.cloudevents import CloudEventsSource
from api.ingest.sources.generic import GenericSource
from api.ingest.sources.grafana import GrafanaSource
from infra.settings.ingest import IngestSettings

SOURCE_TYPES: tuple[Callable[[IngestLimits], AlertSource], ...] = (
    AlertmanagerSource,
    CloudEventsSource,
    GrafanaSource,
    GenericSource,
)


class SourceRegistry:
    """The configured sources, built once at start-up with the ingestion limits."""

    def __init__(self, sources: list[AlertSource]) -> None:
        self._by_kind = {source.kind: source for source in sources}
        if len(self._by_kind) != len(sources):
            raise ValueError("two alert sources share one kind")

    @property
    def kinds(self) -> list[str]:
        return sorted(self._by_kind)

    def source_for(self, kind: str) -> AlertSource:
        """The source for `kind`; 404 `IngestError` for a kind nobody registered."""
        try:
            return self._by_kind[kind]
        except KeyError:
            raise IngestError(404, f"unknown alert source {kind!r}", "source") from None


def build_registry(limits: IngestLimits) -> SourceRegistry:
    """Every source in `SOURCE_TYPES`, sharing one set of limits."""
    return SourceRegistry([make(limits) for make in SOURCE_TYPES])


def registry_for(ingest: IngestSettings) -> SourceRegistry:
    """The registry with the configured limits: what the API and every parser process parse with."""
    return build_registry(IngestLimits(max_batch_alerts=ingest.max_batch_alerts))
