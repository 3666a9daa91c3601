"""The API's router function: the applied configuration's routes, refreshed in the background."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.engine import Engine

from infra.settings import Settings
from workflows.domain.alerts import Alert
from workflows.domain.config import ConfigDocument
from workflows.domain.incidents import RouteDecision
from workflows.domain.routing import route_alert

log = logging.getLogger(__name__)
REFRESH_SECONDS = 5.0


class ConfiguredRouter:
    """Routes alerts with the current config; with none applied, one default route."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self._settings = settings
        self._engine = engine
        self._doc: ConfigDocument | None = None
        self._version = -1

    @property
    def version(self) -> int:
        """The applied config version routing uses (-1: none); changes invalidate caches."""
        return self._version

    def __call__(self, alert: Alert) -> RouteDecision:
        doc = self._doc
        default_policy = (doc.default_escalation_policy if doc else "") or \
            self._settings.escalation.default_policy_id
        decision = route_alert(alert, doc.routes if doc else [],
                               services=doc.services if doc else [], default_policy=default_policy)
        if decision.route_id == RouteDecision().route_id:
            decision = decision.model_copy(update={"group_by": list(self._settings.ingest.default_group_by)})
        return decision

    def refresh(self) -> None:
        from infra.config.store import ConfigStore

        current = ConfigStore(self._engine).current()
        if current is not None and current.version != self._version:
            self._doc, self._version = current.document, current.version
            log.info("routing with config version %s", self._version)

    def refresh_or_keep(self) -> None:
        """`refresh`, or on any failure keep routing with the last good config, and say so."""
        try:
            self.refresh()
        except Exception:  # boundary: a database hiccup must not stop routing
            log.exception("could not refresh routing config; keeping version %s", self._version)

    async def refresh_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.to_thread(self.refresh_or_keep)
            try:
                await asyncio.wait_for(stop.wait(), timeout=REFRESH_SECONDS)
            except TimeoutError:
                pass
