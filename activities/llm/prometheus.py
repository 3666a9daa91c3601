"""Recent values of an alert's query over the Prometheus HTTP API (`/api/v1/query_range`).

Optional evidence for diagnosis: used only when `AiSettings.prometheus_url` is set. Each
returned series becomes a `MetricSeries` the local analyzer can score.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx

from workflows.domain.analysis import MetricPoint, MetricSeries


class PrometheusError(Exception):
    """The query failed; `retryable` is True for timeouts, connection errors and 5xx."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.retryable = retryable


class PrometheusClient:
    def __init__(self, base_url: str, client: httpx.AsyncClient) -> None:
        self.base_url, self.client = base_url.rstrip("/"), client

    async def recent(
        self, query: str, end: datetime, lookback: timedelta = timedelta(hours=1), step: int = 60
    ) -> list[MetricSeries]:
        """One `MetricSeries` per result series; the service comes from the `service`, `job`
        or `instance` label."""
        params = {
            "query": query,
            "start": (end - lookback).timestamp(),
            "end": end.timestamp(),
            "step": step,
        }
        try:
            resp = await self.client.get(f"{self.base_url}/api/v1/query_range", params=params)
        except httpx.TransportError as exc:
            raise PrometheusError(f"prometheus unreachable: {exc}", retryable=True) from exc
        if resp.status_code >= 400:
            raise PrometheusError(
                f"prometheus HTTP {resp.status_code}: {resp.text[:200]}",
                retryable=resp.status_code >= 500,
            )
        body = resp.json()
        if body.get("status") != "success":
            raise PrometheusError(f"prometheus error: {body.get('error')}", retryable=False)
        return [_series(query, r) for r in body["data"]["result"]]


def _series(query: str, result: dict) -> MetricSeries:
    labels = result.get("metric", {})
    service = labels.get("service") or labels.get("job") or labels.get("instance", "")
    points = [
        MetricPoint(time=datetime.fromtimestamp(float(t)).astimezone(), value=float(v))
        for t, v in result.get("values", [])
    ]
    return MetricSeries(service=service, name=labels.get("__name__", query), points=points)
