"""The alert source plugin contract and what a parse returns."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from pydantic import Field

from api.ingest.errors import ItemError
from workflows.domain.alerts import Alert
from workflows.domain.base import Frozen


class IngestLimits(Frozen):
    """Per-request limits a source enforces (built from `IngestSettings` at the edge)."""

    max_batch_alerts: int = 1000


class ParsedBatch(Frozen):
    """Normalised, tagged and redacted alerts, plus the items refused (with index and field)."""

    alerts: list[Alert] = Field(default_factory=list)
    rejected: list[ItemError] = Field(default_factory=list)

    @property
    def nothing_accepted(self) -> bool:
        """True when items were sent and every one was refused: answer 422, not 202."""
        return not self.alerts and bool(self.rejected)


class AlertSource(Protocol):
    """One wire format. `kind` is stable: it is stored on every alert as `Alert.source`."""

    kind: str

    def parse(
        self, body: bytes, headers: Mapping[str, str], received_at: datetime
    ) -> ParsedBatch:
        """Read one request into alerts.

        Contract: returned alerts are complete — `fingerprint`, `id`, tags applied and text
        redacted — so the caller stores them as they are. Repeats may be served as the *same*
        frozen instance from a cache: treat `labels`/`annotations` dicts as read-only. `received_at` (timezone-aware) stands
        in for a missing start time. Raises `IngestError` when the whole request is unusable;
        invalid items of a batch are returned in `rejected` instead.
        """
        ...
