"""Dedup keys and materiality: which alerts share an incident, and which occurrences are news.

The dedup key is built from the route's `group_by` labels (like Alertmanager's `group_by`),
never from free text. It is readable, because it becomes the workflow ID `incident-<key>`
that operators see in the Temporal UI; values are escaped so that distinct label tuples can
never produce the same key.

Scope labels split incidents whatever the `group_by`. `group_by` says what counts as the same
problem; the scope labels (`SCOPE_LABELS`: env, cluster, region) say where it happens, and an
incident never spans two failure domains: the same alert on the same service in two clusters
at once is two incidents, with two blast radii, two sets of responders and two remediations
(Prometheus `external_labels` usually carry exactly these labels). So every scope label an alert
carries and its `group_by` does not name is appended to the key as `name=value`
(`HighErrorRate.search.prod.cluster=eu-1`); an alert without scope labels keeps the plain key,
and the configured `group_by` stays the documented default. Near-duplicate merging refuses to
cross scopes for the same reason (`workflows.domain.correlation.scope_conflict`), and reads an
open incident's scope back from its key (`scope_from_key`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import datetime, timedelta

from workflows.domain.alerts import Alert, AlertStatus
from workflows.domain.base import Frozen
from workflows.domain.routing import alert_value

_UNSAFE = re.compile(r"[^A-Za-z0-9_\-:]")
MAX_READABLE = 120


SCOPE_LABELS = ("env", "cluster", "region")


def dedup_key(alert: Alert, group_by: list[str], split_by_scope: bool = True) -> str:
    """`alertname.service.env`-style key of the alert under `group_by` (missing labels are `-`),
    followed by `name=value` for each scope label the alert carries outside `group_by` (unless
    its route says `split_by_scope: false`: one problem wherever it fires)."""
    return key_of(lambda name: alert_value(alert, name), group_by, split_by_scope)


def key_of(value: Callable[[str], str], group_by: list[str] | tuple[str, ...],
           split_by_scope: bool = True) -> str:
    """The dedup key from a label lookup (`value(name)`, "" or None when absent): see
    `dedup_key`."""
    head = ".".join(_escape(value(name) or "") or "-" for name in group_by)
    scope = [f"{name}={_escape(v)}" for name in SCOPE_LABELS
             if split_by_scope and name not in group_by and (v := value(name) or "")]
    tail = "".join(f".{part}" for part in scope)
    if len(head) + len(tail) <= MAX_READABLE:
        return head + tail
    # Too long to read: hash the group_by part but keep the scope readable (and parseable by
    # `scope_from_key`) while it fits; "~" never occurs in an escaped value.
    digest = hashlib.sha256((head + tail).encode()).hexdigest()[:16]
    room = MAX_READABLE - 17 - len(tail)
    if room < 8:
        return f"{(head + tail)[:MAX_READABLE - 17]}~{digest}"
    return f"{head[:room]}~{digest}{tail}"


def scope_from_key(key: str) -> dict[str, str]:
    """The scope labels encoded in a dedup key by `key_of` (`{}` for a plain key).

    Exact because `_escape` turns every "=" and "." inside a value into `%3d` / `%2e`: only
    scope parts contain "=".
    """
    scope = {}
    for part in key.split("."):
        name, sep, value = part.partition("=")
        if sep and name in SCOPE_LABELS:
            scope[name] = _unescape(value.split("~")[0])
    return scope


def _escape(value: str) -> str:
    # "%" escaping keeps the mapping injective: "a.b" and "a_b" stay different keys.
    return _UNSAFE.sub(lambda m: f"%{ord(m.group()):02x}", value)


def _unescape(value: str) -> str:
    return re.sub(r"%([0-9a-f]{2})", lambda m: chr(int(m.group(1), 16)), value)


def workflow_id_for(key: str) -> str:
    return f"incident-{key}"


class IdentityState(Frozen):
    """What the incident was last told about one alert identity."""

    status: AlertStatus
    severity: str
    last_signalled_at: datetime


def materiality(previous: IdentityState | None, status: AlertStatus, severity: str,
                now: datetime, refresh_after: timedelta) -> str:
    """Why this occurrence must reach the incident ("" when it is a mere repeat).

    A repeat is re-sent at most once per `refresh_after`, so that an alert still firing after
    its incident was closed by a human opens a new incident instead of being silently absorbed,
    while a storm of copies costs one signal per identity per window.
    """
    if previous is None:
        return "new alert identity"
    if previous.status is not status:
        return f"status {previous.status.value} → {status.value}"
    if previous.severity != severity:
        return f"severity {previous.severity} → {severity}"
    if status is AlertStatus.FIRING and now - previous.last_signalled_at >= refresh_after:
        return "still firing after the refresh window"
    return ""
