"""Grafana unified alerting webhook contact point (payload `version: "1"`, Grafana 9–11).

Mapping (see docs/ingestion.md):

* `labels` → labels (Grafana puts the rule title in `alertname` and adds `grafana_folder`);
* title: `alertname`, else the `summary` annotation, else the notification `title`;
  description: `description`, else `summary`, else `message` annotation;
* identity is `fingerprint_of(labels)`, as for every source; Grafana's own `fingerprint` is kept
  as `source.fingerprint`. The links responders need are kept as annotations:
  `source.silence_url`, `source.dashboard_url`, `source.panel_url`; the evaluated values as
  `source.value_string` (Grafana's text) and `source.values` (JSON of `values`).
* `startsAt` may carry a local offset (`+02:00`): stored in UTC.

Grafana's rendered top-level `message` is not copied: it repeats every alert of the group and is
meant for people, not for identity.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

import orjson
from pydantic import TypeAdapter

from api.ingest.base import IngestLimits, ParsedBatch
from api.ingest.normalise import build_alert, first_text, with_source_annotations
from api.ingest.sources.alertmanager import AlertmanagerAlert, NotificationEnvelope
from api.ingest.wire import (
    check_batch_size,
    decode_json,
    require_media_type,
    validate,
    validate_items,
)
from workflows.domain.alerts import Alert

Status = Literal["firing", "resolved"]


class GrafanaAlert(AlertmanagerAlert):
    """Grafana's alert is Alertmanager's (Grafana embeds Alertmanager) plus links and values."""

    silenceURL: str = ""
    dashboardURL: str = ""
    panelURL: str = ""
    values: dict[str, Any] | None = None
    valueString: str = ""


class GrafanaWebhook(NotificationEnvelope):
    """Alertmanager's envelope with Grafana's version and extras."""

    version: Literal["1"]
    orgId: int = 0
    title: str = ""
    state: str = ""
    message: str = ""


_ALERTS = TypeAdapter(list[GrafanaAlert])


class GrafanaSource:
    """`POST /api/v1/alerts/grafana`: a Grafana webhook contact point."""

    kind = "grafana"

    def __init__(self, limits: IngestLimits) -> None:
        self.limits = limits

    def parse(
        self, body: bytes, headers: Mapping[str, str], received_at: datetime
    ) -> ParsedBatch:
        require_media_type(headers, ("application/json",))
        envelope = validate(GrafanaWebhook, decode_json(body))
        check_batch_size(envelope.alerts, "alerts", self.limits.max_batch_alerts)
        valid, rejected = validate_items(_ALERTS, GrafanaAlert, envelope.alerts, "alerts")
        alerts = [self._alert(item, envelope) for _, item in valid]
        return ParsedBatch(alerts=alerts, rejected=rejected)

    def _alert(self, item: GrafanaAlert, envelope: GrafanaWebhook) -> Alert:
        annotations = item.annotations
        extra = {
            "silence_url": item.silenceURL,
            "dashboard_url": item.dashboardURL,
            "panel_url": item.panelURL,
            "value_string": item.valueString,
            "values": orjson.dumps(item.values).decode() if item.values else "",
        }
        identifiers = {
            "fingerprint": item.fingerprint,
            "receiver": envelope.receiver,
            "org_id": str(envelope.orgId) if envelope.orgId else "",
        }
        return build_alert(
            source=self.kind,
            status=item.status,
            labels=dict(item.labels),
            annotations=with_source_annotations(annotations, extra),
            title=first_text(item.labels, "alertname")
            or first_text(annotations, "summary")
            or envelope.title
            or "Grafana alert",
            description=first_text(annotations, "description", "summary", "message"),
            starts_at=item.startsAt,
            ends_at=item.endsAt,
            generator_url=item.generatorURL,
            identifiers=identifiers,
        )
