"""Prometheus Alertmanager webhook, payload version 4, exactly as Alertmanager sends it.

Mapping (see docs/ingestion.md):

* `labels` → labels (identity); `annotations` → annotations;
* title: `alertname` label, else the `summary` annotation; description: the `description`
  annotation, else `summary`, else `message`;
* `fingerprint` is ours (`fingerprint_of(labels)`), not Alertmanager's: ours is the same for the
  same label set from every source, Alertmanager's is only stable within Alertmanager. Its value
  is kept as the `source.fingerprint` annotation for tracing an alert back;
* `groupKey` and `receiver` are kept as `source.group_key` / `source.receiver` annotations;
  `truncatedAlerts > 0` (Alertmanager dropped alerts over its `max_alerts`) is recorded as
  `source.truncated_alerts` on every alert of the request, so the loss is visible downstream;
* `startsAt`/`endsAt`: RFC 3339 with up to nanoseconds; `0001-01-01T00:00:00Z` means unset.

Alertmanager retries failed webhooks and HA pairs both send: the occurrence id (identity,
status, timestamps) makes every such repeat the same alert id.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import Field, TypeAdapter

from api.ingest.base import IngestLimits, ParsedBatch
from api.ingest.normalise import build_alert, first_text
from api.ingest.wire import (
    VendorModel,
    WireTime,
    check_batch_size,
    decode_json,
    require_media_type,
    validate,
    validate_items,
)
from workflows.domain.alerts import Alert

Status = Literal["firing", "resolved"]


class AlertmanagerAlert(VendorModel):
    status: Status
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: WireTime
    endsAt: WireTime | None = None
    generatorURL: str = ""
    fingerprint: str = ""


class NotificationEnvelope(VendorModel):
    """Alertmanager's notification envelope, which Grafana's webhook reuses; `alerts` items are
    validated one by one (see `validate_items`)."""

    status: Status
    receiver: str
    alerts: list[Any]
    groupKey: str = ""
    truncatedAlerts: int = 0
    groupLabels: dict[str, str] = Field(default_factory=dict)
    commonLabels: dict[str, str] = Field(default_factory=dict)
    commonAnnotations: dict[str, str] = Field(default_factory=dict)
    externalURL: str = ""


class AlertmanagerWebhook(NotificationEnvelope):
    version: Literal["4"]


_ALERTS = TypeAdapter(list[AlertmanagerAlert])


class AlertmanagerSource:
    """`POST /api/v1/alerts/alertmanager`: Alertmanager's `webhook_configs` receiver."""

    kind = "alertmanager"

    def __init__(self, limits: IngestLimits) -> None:
        self.limits = limits

    def parse(
        self, body: bytes, headers: Mapping[str, str], received_at: datetime
    ) -> ParsedBatch:
        require_media_type(headers, ("application/json",))
        envelope = validate(AlertmanagerWebhook, decode_json(body))
        check_batch_size(envelope.alerts, "alerts", self.limits.max_batch_alerts)
        valid, rejected = validate_items(_ALERTS, AlertmanagerAlert, envelope.alerts, "alerts")
        context = {
            "receiver": envelope.receiver,
            "group_key": envelope.groupKey,
            "truncated_alerts": str(envelope.truncatedAlerts) if envelope.truncatedAlerts else "",
        }
        alerts = [self._alert(item, context) for _, item in valid]
        return ParsedBatch(alerts=alerts, rejected=rejected)

    def _alert(self, item: AlertmanagerAlert, context: dict[str, str]) -> Alert:
        annotations = item.annotations
        return build_alert(
            source=self.kind,
            status=item.status,
            labels=dict(item.labels),
            annotations=annotations,
            title=first_text(item.labels, "alertname")
            or first_text(annotations, "summary")
            or "Alertmanager alert",
            description=first_text(annotations, "description", "summary", "message"),
            starts_at=item.startsAt,
            ends_at=item.endsAt,
            generator_url=item.generatorURL,
            identifiers={"fingerprint": item.fingerprint, **context},
        )
