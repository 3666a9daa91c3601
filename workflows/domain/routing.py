"""Routing: which escalation policy and grouping an alert gets, and whether it is suppressed.

Routes are tried in order and the first match wins, unless that route says `continue: true`,
in which case later matching routes apply too (Alertmanager semantics). Matchers see the alert's
labels plus its routing tags (`service`, `env`, `severity`, `team`, `model_id`, `metric_type`);
a non-empty tag wins over a label of the same name. A missing key counts as the empty string, so
`match_re: {env: "prod|"}` also matches alerts without `env`, as in Alertmanager.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from workflows.domain.alerts import Alert
from workflows.domain.config import MaintenanceWindow, Matchers, Route, Service, Silence
from workflows.domain.incidents import RouteDecision

TAG_KEYS = ("service", "env", "severity", "team", "model_id", "metric_type")


def alert_value(alert: Alert, key: str) -> str:
    """The value matchers compare for `key`: the tag if set, else the label, else ``""``."""
    if key in TAG_KEYS:
        tag = str(getattr(alert.tags, key))
        if tag:
            return tag
    return alert.labels.get(key, "")


def matches(matchers: Matchers, alert: Alert) -> bool:
    """Every exact matcher equals and every regex matches the whole value."""
    exact = all(alert_value(alert, key) == want for key, want in matchers.match.items())
    return exact and all(
        re.fullmatch(pattern, alert_value(alert, key)) is not None
        for key, pattern in matchers.match_re.items()
    )


def route_alert(
    alert: Alert,
    routes: Sequence[Route],
    *,
    services: Sequence[Service] = (),
    default_policy: str = "",
) -> RouteDecision:
    """The decision of the first matching route, or the default route when none matches.

    The escalation policy comes from the route, else the alert's service, else `default_policy`.
    """
    decisions = route_alert_all(alert, routes, services=services, default_policy=default_policy)
    return decisions[0]


def route_alert_all(
    alert: Alert,
    routes: Sequence[Route],
    *,
    services: Sequence[Service] = (),
    default_policy: str = "",
) -> list[RouteDecision]:
    """Every applicable decision in order: the first match plus those reached by `continue`."""
    service = next((s for s in services if s.id == alert_value(alert, "service")), None)
    decisions: list[RouteDecision] = []
    for index, route in enumerate(routes):
        if not matches(route, alert):
            continue
        decisions.append(_decide(alert, route, index, service, default_policy))
        if not route.continue_:
            break
    if not decisions:
        decisions.append(_decide(alert, None, -1, service, default_policy))
    return decisions


def _decide(
    alert: Alert, route: Route | None, index: int, service: Service | None, default_policy: str
) -> RouteDecision:
    service_policy = service.escalation_policy if service else ""
    policy = (route.escalation_policy if route else "") or service_policy or default_policy
    base = RouteDecision()
    return RouteDecision(
        route_id=(route.id or f"route-{index + 1}") if route else base.route_id,
        group_by=list(route.group_by) if route else list(base.group_by),
        split_by_scope=route.split_by_scope if route else base.split_by_scope,
        auto_resolve=route.auto_resolve if route else base.auto_resolve,
        fallback_chain=[k.value for k in route.fallback_chain] if route else [],
        escalation_policy_id=policy,
        service=alert_value(alert, "service"),
        team=alert.tags.team or (service.team if service else ""),
    )


def suppressed_by(
    alert: Alert,
    at: datetime,
    windows: Sequence[MaintenanceWindow] = (),
    silences: Sequence[Silence] = (),
) -> str:
    """Why `alert` must page nobody at `at` (``""`` when it may page).

    A maintenance window applies while `start <= at < end` to alerts of its `services` that also
    satisfy its matchers (each part only when given); a silence applies until `until`.
    """
    service = alert_value(alert, "service")
    for w, window in enumerate(windows):
        in_service = not window.services or service in window.services
        if window.start <= at < window.end and in_service and matches(window, alert):
            label = window.id or f"#{w + 1}"
            return f"maintenance window {label} until {window.end.isoformat()}"
    for s, silence in enumerate(silences):
        if at < silence.until and matches(silence, alert):
            label = silence.id or f"#{s + 1}"
            return f"silence {label} until {silence.until.isoformat()}: {silence.comment}"
    return ""
