"""One normalised alert model, whatever the source spoke."""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum

from pydantic import Field

from workflows.domain.base import Frozen, Severity


class AlertStatus(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class AlertTags(Frozen):
    """Routing and analysis tags taken from labels by the documented rules in `tags.py`."""

    service: str = ""
    env: str = ""
    severity: Severity = Severity.MEDIUM
    team: str = ""
    model_id: str = ""
    metric_type: str = ""


class Alert(Frozen):
    """A normalised alert occurrence.

    `fingerprint` identifies the alert (its identity labels), `id` this occurrence: repeats of the
    same identity with the same timestamps and status have the same `id`, so storing is idempotent.
    """

    id: str
    fingerprint: str
    source: str
    status: AlertStatus
    title: str
    description: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime
    ends_at: datetime | None = None
    generator_url: str = ""
    tags: AlertTags = AlertTags()


def fingerprint_of(labels: dict[str, str]) -> str:
    """Stable identity of an alert from its full label set (order-independent), like Alertmanager.

    Deliberately never built from free text: summaries are shared by distinct alerts.
    """
    canonical = "\x1f".join(f"{k}\x1e{v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def occurrence_id(
    fingerprint: str, status: AlertStatus, starts_at: datetime, ends_at: datetime | None
) -> str:
    """Id of one occurrence: same identity, status and timestamps give the same id."""
    ends = ends_at.isoformat() if ends_at else "-"
    raw = f"{fingerprint}|{status.value}|{starts_at.isoformat()}|{ends}"
    return "al_" + hashlib.sha256(raw.encode()).hexdigest()[:20]
