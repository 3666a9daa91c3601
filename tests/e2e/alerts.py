"""Alert payloads exactly as their senders shape them, with labels unique to each test."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def am_alert(alertname: str, service: str, *, status: str = "firing", instance: str = "10.0.0.1:9100",
             starts_at: str = "2026-03-02T10:00:00.000Z", severity: str = "critical") -> dict:
    """One alert of an Alertmanager v4 webhook, as Alertmanager 0.27 writes it."""
    ends_at = "0001-01-01T00:00:00Z" if status == "firing" else datetime.now(UTC).isoformat()
    labels = {"alertname": alertname, "service": service, "env": "prod", "instance": instance,
              "severity": severity}
    return {
        "status": status,
        "labels": labels,
        "annotations": {"summary": f"{alertname} on {service}",
                        "description": f"{service} at {instance} is unhappy"},
        "startsAt": starts_at,
        "endsAt": ends_at,
        "generatorURL": "http://prometheus.monitoring:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1",
        # Alertmanager's own fingerprint: a hash of the label set, stable across notifications.
        "fingerprint": hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16],
    }


def am_webhook(*alerts: dict) -> dict:
    """The whole Alertmanager webhook body (version 4) around `alerts`."""
    status = "firing" if any(a["status"] == "firing" for a in alerts) else "resolved"
    common = {"alertname": alerts[0]["labels"]["alertname"]}
    return {
        "receiver": "lim",
        "status": status,
        "alerts": list(alerts),
        "groupLabels": common,
        "commonLabels": common,
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.monitoring:9093",
        "version": "4",
        "groupKey": f'{{}}:{{alertname="{common["alertname"]}"}}',
        "truncatedAlerts": 0,
    }


async def post_alertmanager(http, *alerts: dict, headers: dict | None = None) -> dict:
    """POST one webhook; asserts the 202 and returns its body (`accepted`, `rejected`)."""
    answer = await http.post("/api/v1/alerts/alertmanager", json=am_webhook(*alerts),
                             headers=headers or {})
    assert answer.status_code == 202, answer.text
    return answer.json()


async def incidents_of(http, service: str, title: str = "") -> list[dict]:
    """Incidents of `service` in the read model (each test uses its own service name, or its
    own `title` within a shared one)."""
    answer = await http.get("/api/v1/incidents", params={"service": service, "limit": 500})
    assert answer.status_code == 200, answer.text
    return [i for i in answer.json()["items"] if not title or i["title"] == title]


async def incident(http, ref: str) -> dict:
    answer = await http.get(f"/api/v1/incidents/{ref}")
    assert answer.status_code == 200, answer.text
    return answer.json()
