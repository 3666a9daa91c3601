"""Prometheus metrics of the API, read by `infra/deploy/prometheus/lim-rules.yaml`.

Request counts come from a tiny ASGI middleware (labelled by route template, never by raw
path, so cardinality stays bounded); outbox age and undelivered pages are read from the
database at scrape time, so every replica reports the same truth without shared state.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from sqlalchemy import func, select

from infra.db.engine import as_utc
from infra.db.tables.core import OutboxRow
from infra.db.tables.incidents import IncidentRow

router = APIRouter(tags=["health"])
UNDELIVERED_PREFIX = "page-undelivered"


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("lim_http_requests", "API requests by route and status",
                                ["route", "status"], registry=self.registry)
        self.engine = None
        self.registry.register(_DatabaseCollector(self))


class _DatabaseCollector:
    def __init__(self, metrics: ApiMetrics) -> None:
        self._metrics = metrics

    def collect(self):
        engine = self._metrics.engine
        if engine is None:
            return
        outbox, incidents = OutboxRow.__table__, IncidentRow.__table__
        with engine.connect() as conn:
            oldest = conn.execute(select(func.min(outbox.c.created_at))
                                  .where(outbox.c.dispatched_at.is_(None))).scalar()
            undelivered = conn.execute(select(func.count()).select_from(incidents).where(
                incidents.c.dedup_key.like(f"{UNDELIVERED_PREFIX}%"))).scalar_one()
        age = 0.0
        if oldest is not None:
            age = max(0.0, (datetime.now(UTC) - as_utc(oldest)).total_seconds())
        yield GaugeMetricFamily("lim_outbox_oldest_pending_age_seconds",
                                "Age of the oldest stored alert change not yet signalled", value=age)
        yield CounterMetricFamily("lim_pages_undelivered", "Pages that failed on every contact "
                                  "method (each opens a page-not-delivered incident)", value=undelivered)


class RequestCounter:
    """Pure ASGI middleware: counts responses by route template and status."""

    def __init__(self, app, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        status = {"code": 500}

        async def counting_send(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            route = scope.get("route")
            self.metrics.requests.labels(getattr(route, "path", "unmatched"),
                                         str(status["code"])).inc()


@router.get("/metrics", summary="Prometheus metrics (no key needed)", include_in_schema=True)
async def metrics(request: Request) -> Response:
    m: ApiMetrics = request.app.state.metrics
    m.engine = request.app.state.lim.engine
    return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)
