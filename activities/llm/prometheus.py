"""Recent values of an alert's query over the Prometheus HTTP API (`/api/v1/query_range`).

Optional evidence for diagnosis: used only when `AiSettings.prometheus_url` is set. Each
returned series becomes a `MetricSeries` the local analyzer can score and Claude can read, with
a `ref` (`prometheus:<query>{labels}`) that evidence cites.

Prometheus is a nice-to-have witness, never a reason for a diagnosis to fail: `AlertMetrics`
turns every failure (down, timeout, bad query, odd answer) into a note, and never raises.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

from activities.llm.promql import SeriesQuery, alert_expression, series_query
from infra.settings.ai import AiSettings
from workflows.domain.analysis import MetricPoint, MetricSeries

MAX_QUERIES = 5  # distinct alert queries per diagnosis: bounds time and the LLM payload
MAX_POINTS = 120  # per series; the step widens for long incidents instead


class PrometheusError(Exception):
    """The query failed; `retryable` is True for timeouts, connection errors and 5xx."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.retryable = retryable


class PrometheusClient:
    def __init__(self, base_url: str, client: httpx.AsyncClient) -> None:
        self.base_url, self.client = base_url.rstrip("/"), client

    async def recent(
        self, query: str, end: datetime, lookback: timedelta = timedelta(hours=1), step: int = 60,
        service: str = "",
    ) -> list[MetricSeries]:
        """One `MetricSeries` per result series; the service comes from the `service` label,
        else `service` (the caller's, e.g. the alert's), else the `job` or `instance` label."""
        params = {
            "query": query,
            "start": (end - lookback).timestamp(),
            "end": end.timestamp(),
            "step": step,
        }
        try:
            resp = await self.client.get(f"{self.base_url}/api/v1/query_range", params=params)
        except httpx.TransportError as exc:
            raise PrometheusError(f"prometheus unreachable: {exc!r}", retryable=True) from exc
        except (httpx.HTTPError, httpx.InvalidURL) as exc:  # a misconfigured URL, mostly
            raise PrometheusError(f"prometheus request failed: {exc!r}", retryable=False) from exc
        if resp.status_code >= 400:
            raise PrometheusError(
                f"prometheus HTTP {resp.status_code}: {resp.text[:200]}",
                retryable=resp.status_code >= 500,
            )
        try:
            body = resp.json()
            if body.get("status") != "success":
                raise PrometheusError(f"prometheus error: {body.get('error')}", retryable=False)
            return [_series(query, r, service) for r in body["data"]["result"]]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            # Something that is not Prometheus answered (a proxy page, another API).
            raise PrometheusError(f"not a Prometheus answer: {exc!r}", retryable=False) from exc


def _series(query: str, result: dict, service: str = "") -> MetricSeries:
    labels = result.get("metric", {})
    owner = labels.get("service") or service or labels.get("job") or labels.get("instance", "")
    # NaN/Inf (a ratio over zero traffic) carries no level to compare and is not valid JSON.
    points = [
        MetricPoint(time=datetime.fromtimestamp(float(t), UTC), value=float(v))
        for t, v in result.get("values", [])
        if math.isfinite(float(v))
    ]
    shown = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    return MetricSeries(service=owner, name=labels.get("__name__", query), points=points,
                        ref=f"prometheus:{query}" + (f"{{{shown}}}" if shown else ""))


# ---- evidence for one diagnosis ----------------------------------------------------------


@dataclass(frozen=True)
class AlertQuery:
    """One alert whose Prometheus expression is known: what fired, where and since when."""

    generator_url: str
    service: str
    starts_at: datetime


@dataclass(frozen=True)
class FetchedMetrics:
    series: list[MetricSeries]
    note: str  # what was fetched or why not; '' when no alert had a Prometheus expression


class AlertMetrics:
    """Fetches, for each alert with a Prometheus expression, the series the alert compares
    against its threshold, from `lookback` before the alert fired up to the analysis time."""

    def __init__(self, client: PrometheusClient, lookback: timedelta, step_seconds: int,
                 timeout_seconds: float) -> None:
        self.client, self.lookback, self.step = client, lookback, step_seconds
        self.timeout = timeout_seconds

    async def fetch(self, alerts: list[AlertQuery], at: datetime) -> FetchedMetrics:
        """Never raises for Prometheus' sake: failures come back in `note`."""
        wanted = _distinct_queries(alerts)
        if not wanted:
            return FetchedMetrics([], "")
        results = await asyncio.gather(*(self._one(q, a, at) for q, a in wanted[:MAX_QUERIES]))
        series = [s for found, _ in results for s in found]
        failures = [why for _, why in results if why]
        note = f"prometheus: {len(series)} series from {len(wanted[:MAX_QUERIES])} alert queries"
        if len(wanted) > MAX_QUERIES:
            note += f" ({len(wanted) - MAX_QUERIES} more not queried)"
        if failures:
            note += "; data unavailable for " + "; ".join(failures)
        return FetchedMetrics(series, note)

    async def _one(self, target: SeriesQuery, alert: AlertQuery, at: datetime):
        start = alert.starts_at - self.lookback
        end = max(at, alert.starts_at)
        step = max(self.step, math.ceil((end - start).total_seconds() / MAX_POINTS))
        try:
            found = await asyncio.wait_for(
                self.client.recent(target.query, end, end - start, step, alert.service),
                self.timeout)
        except PrometheusError as exc:
            return [], f"{target.query} ({exc})"
        except TimeoutError:
            return [], f"{target.query} (no answer within {self.timeout:g}s)"
        return [_with_baseline(s, alert.starts_at, target.higher_is_worse) for s in found], ""


def _distinct_queries(alerts: list[AlertQuery]) -> list[tuple[SeriesQuery, AlertQuery]]:
    """One entry per series query (an alert's occurrences, or `x > 5` and `x > 10`, share
    one), with the earliest alert that fired on it."""
    first: dict[SeriesQuery, AlertQuery] = {}
    for alert in sorted(alerts, key=lambda a: a.starts_at):
        expression = alert_expression(alert.generator_url)
        if expression:
            first.setdefault(series_query(expression), alert)
    return list(first.items())


def _with_baseline(series: MetricSeries, fired_at: datetime, higher_is_worse: bool):
    """The baseline is the level before the alert fired: the alert's own onset is the most
    honest split between normal and now that we have."""
    before = [p.value for p in series.points if p.time < fired_at]
    baseline = sum(before) / len(before) if before else None
    return series.model_copy(update={"baseline": baseline, "higher_is_worse": higher_is_worse})


def build_alert_metrics(settings: AiSettings) -> AlertMetrics | None:
    """The worker's Prometheus evidence, or None when no `prometheus_url` is configured."""
    if not settings.prometheus_url:
        return None
    # Its own client: Prometheus' timeout must not shorten (or lengthen) anyone else's calls.
    http = httpx.AsyncClient(timeout=settings.prometheus_timeout_seconds)
    return AlertMetrics(PrometheusClient(settings.prometheus_url, http),
                        timedelta(minutes=settings.prometheus_lookback_minutes),
                        settings.prometheus_step_seconds, settings.prometheus_timeout_seconds)
