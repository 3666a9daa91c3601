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

from pydantic import Field, TypeAdapter, ValidationError

from api.ingest.base import IngestLimits, ParsedBatch
from api.ingest.memo import AlertMemo
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
_ENDS_AT = TypeAdapter(WireTime | None)
GO_ZERO_TIME = "0001-01-01T00:00:00Z"


class AlertmanagerSource:
    """`POST /api/v1/alerts/alertmanager`: Alertmanager's `webhook_configs` receiver."""

    kind = "alertmanager"

    def __init__(self, limits: IngestLimits) -> None:
        self.limits = limits
        self._memo = AlertMemo()

    def parse(
        self, body: bytes, headers: Mapping[str, str], received_at: datetime
    ) -> ParsedBatch:
        require_media_type(headers, ("application/json",))
        envelope = validate(AlertmanagerWebhook, decode_json(body))
        check_batch_size(envelope.alerts, "alerts", self.limits.max_batch_alerts)
        context = {
            "receiver": envelope.receiver,
            "group_key": envelope.groupKey,
            "truncated_alerts": str(envelope.truncatedAlerts) if envelope.truncatedAlerts else "",
        }
        found, keys, misses = self._remembered(envelope.alerts, tuple(context.values()))
        rejected = []
        if misses:
            valid, rejected = validate_items(_ALERTS, AlertmanagerAlert,
                                             [envelope.alerts[i] for i in misses], "alerts",
                                             indexes=misses)
            for index, item in valid:
                found[index] = alert = self._alert(item, context)
                self._memo.put(keys[index], alert)
        return ParsedBatch(alerts=[found[i] for i in sorted(found)], rejected=rejected)

    def _remembered(self, items: list, context: tuple
                    ) -> tuple[dict[int, Alert], list[tuple | None], list[int]]:
        """Alerts served from the memo by index, every item's memo key, and the indexes missed."""
        found: dict[int, Alert] = {}
        keys: list[tuple | None] = []
        misses: list[int] = []
        for index, item in enumerate(items):
            keys.append(key := _memo_key(context, item))
            if (alert := self._memo.get(key)) is not None:
                found[index] = alert
            else:
                misses.append(index)
        return found, keys, misses

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


def _memo_key(context: tuple, item: object) -> tuple | None:
    """The memo key of one item. A firing alert's `endsAt` is left out of it: senders put a moving
    expiry estimate there that the alert does not keep (see normalise), so including it would
    make every re-send a miss. It must still be a valid time, or the item takes the slow path
    and is rejected there."""
    if type(item) is dict and item.get("status") == "firing" and "endsAt" in item:
        ends_at = item["endsAt"]
        if ends_at != GO_ZERO_TIME:
            try:
                _ENDS_AT.validate_python(ends_at)
            except ValidationError:
                return None
        item = {name: value for name, value in item.items() if name != "endsAt"}
    return AlertMemo.key(context, item)
