"""Dedup keys and materiality: which alerts share an incident, and which occurrences are news.

The dedup key is built from the route's `group_by` labels (like Alertmanager's `group_by`),
never from free text. It is readable, because it becomes the workflow ID `incident-<key>`
that operators see in the Temporal UI; values are escaped so that distinct label tuples can
never produce the same key.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta

from workflows.domain.alerts import Alert, AlertStatus
from workflows.domain.base import Frozen
from workflows.domain.routing import alert_value

_UNSAFE = re.compile(r"[^A-Za-z0-9_\-:]")
MAX_READABLE = 120


def dedup_key(alert: Alert, group_by: list[str]) -> str:
    """`alertname.service.env`-style key of the alert under `group_by` (missing labels are `-`)."""
    parts = [_escape(alert_value(alert, name)) or "-" for name in group_by]
    readable = ".".join(parts)
    if len(readable) <= MAX_READABLE:
        return readable
    digest = hashlib.sha256(readable.encode()).hexdigest()[:16]
    return f"{readable[:MAX_READABLE - 17]}~{digest}"


def _escape(value: str) -> str:
    # "%" escaping keeps the mapping injective: "a.b" and "a_b" stay different keys.
    return _UNSAFE.sub(lambda m: f"%{ord(m.group()):02x}", value)


def workflow_id_for(key: str) -> str:
    return f"incident-{key}"


class IdentityState(Frozen):
    """What the incident was last told about one alert identity."""

    status: AlertStatus
    severity: str
    last_signalled_at: datetime


def materiality(previous: IdentityState | None, alert: Alert, now: datetime,
                refresh_after: timedelta) -> str:
    """Why this occurrence must reach the incident ("" when it is a mere repeat).

    A repeat is re-sent at most once per `refresh_after`, so that an alert still firing after
    its incident was closed by a human opens a new incident instead of being silently absorbed,
    while a storm of copies costs one signal per identity per window.
    """
    if previous is None:
        return "new alert identity"
    if previous.status is not alert.status:
        return f"status {previous.status.value} → {alert.status.value}"
    if previous.severity != alert.tags.severity.value:
        return f"severity {previous.severity} → {alert.tags.severity.value}"
    if alert.status is AlertStatus.FIRING and now - previous.last_signalled_at >= refresh_after:
        return "still firing after the refresh window"
    return ""
