"""PagerDuty Events API v2: trigger, acknowledge and resolve one PagerDuty alert per incident.

`dedup_key` is the incident id, so the trigger, the ack and the resolve of one incident land on
the same PagerDuty alert, and a retried trigger is absorbed by PagerDuty itself.
`target.address` names a routing key configured in `NotifySettings.pagerduty.routing_keys`.
"""

from __future__ import annotations

import httpx
import orjson

from activities.notify.base import Clock, DeliveryError, make_receipt, utcnow
from activities.notify.httpjson import post_json
from infra.settings.notify import PagerDutySettings
from workflows.domain.base import Severity
from workflows.domain.lifecycle import IncidentStatus
from workflows.domain.notifications import DeliveryReceipt, Notification, render_text

_SEVERITY = {Severity.CRITICAL: "critical", Severity.HIGH: "error",
             Severity.MEDIUM: "warning", Severity.LOW: "info"}


def event_action(n: Notification) -> str:
    if n.status is IncidentStatus.RESOLVED:
        return "resolve"
    if n.status is IncidentStatus.ACKNOWLEDGED:
        return "acknowledge"
    return "trigger"


class PagerDutyChannel:
    kind = "pagerduty"

    def __init__(self, http: httpx.AsyncClient, config: PagerDutySettings, clock: Clock = utcnow):
        self._http = http
        self._config = config
        self._clock = clock

    def event(self, n: Notification, routing_key: str) -> dict:
        action = event_action(n)
        event: dict = {"routing_key": routing_key, "event_action": action,
                       "dedup_key": n.incident_id}
        if action == "trigger":
            event["payload"] = {
                "summary": f"#{n.incident_number} {n.title}"[:1024],
                "source": "llm-incident-manager", "severity": _SEVERITY[n.severity],
                "custom_details": {"text": render_text(n), "idempotency_key": n.idempotency_key},
            }
            event["links"] = [{"href": link.url, "text": link.label} for link in n.links]
        return event

    async def send(self, n: Notification) -> DeliveryReceipt:
        key = self._config.routing_keys.get(n.target.address)
        if key is None:
            raise DeliveryError(f"pagerduty: no routing key named {n.target.address!r}",
                                retryable=False)
        body = orjson.dumps(self.event(n, key.get_secret_value()))
        response = await post_json(self._http, self.kind, self._config.events_url, content=body,
                                   timeout=self._config.timeout_seconds)
        dedup = response.json().get("dedup_key", n.incident_id)
        return make_receipt(self.kind, n.target, dedup, self._clock)
