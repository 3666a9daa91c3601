"""`incident.page_not_delivered`: a page no channel could deliver becomes an incident.

The failure is stored as an alert from source `lim` through the normal ingestion write path
(`alerts.store`: alert row + outbox row in one transaction), so the outbox dispatcher opens or
signals its incident with signal-with-start like any other alert. One incident per failing
incident and person (`PageNotDelivered.dedup_key`); a later failure for the same pair refires it.
It escalates on the failing incident's policy (falling back to the deployment default), so the
rest of that ladder hears that someone could not be reached.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy.engine import Engine
from temporalio import activity

from infra.db.repositories.alerts import record_of, store
from workflows import side_effects as fx
from workflows.domain.alerts import Alert, AlertStatus, AlertTags, fingerprint_of, occurrence_id
from workflows.domain.base import Severity
from workflows.domain.incidents import RouteDecision
from workflows.paging import UNDELIVERED_ROUTE, RaisePageNotDelivered

SOURCE = "lim"
# Another failure for the same person within this window is a repeat, not news.
REFRESH_AFTER = timedelta(minutes=5)


def undelivered_alert(request: RaisePageNotDelivered) -> Alert:
    """The alert that stands for the failed page (redacted already: no addresses inside)."""
    page = request.page
    labels = {"alertname": "PageNotDelivered", "incident_id": page.incident_id,
              "user": page.user_id}
    fingerprint = fingerprint_of(labels)
    channels = ", ".join(f"{f.channel} ({f.error_type})" for f in page.failures)
    return Alert(
        id=occurrence_id(fingerprint, AlertStatus.FIRING, request.at, None),
        fingerprint=fingerprint, source=SOURCE, status=AlertStatus.FIRING, title=page.title,
        description=f"every channel failed for {page.user_id}: {channels or 'none configured'}",
        labels=labels, starts_at=request.at,
        tags=AlertTags(service=request.service, env=request.env, team=request.route.team,
                       severity=Severity.most_urgent([request.severity, Severity.HIGH])))


class UndeliveredActivities:
    def __init__(self, engine: Engine, default_policy_id: str = "") -> None:
        self._engine = engine
        self._default_policy_id = default_policy_id

    @activity.defn(name=fx.RAISE_PAGE_NOT_DELIVERED.name)
    async def raise_page_not_delivered(self, request: RaisePageNotDelivered) -> str:
        """Store the alert (idempotent per failure instant); returns the incident's dedup key."""
        route = RouteDecision(
            route_id=UNDELIVERED_ROUTE, group_by=["alertname", "incident_id", "user"],
            auto_resolve=False, service=request.service, team=request.route.team,
            escalation_policy_id=request.route.escalation_policy_id or self._default_policy_id)
        record = record_of(undelivered_alert(request), route, request.page.dedup_key, SOURCE)
        await asyncio.to_thread(store, self._engine, [record], request.at, REFRESH_AFTER)
        return request.page.dedup_key
