"""`PrometheusClient` against a real Prometheus (the `real_prometheus` fixture, conftest.py)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from activities.llm.prometheus import PrometheusClient, PrometheusError
from tests.activities.llm.conftest import ALERT_QUERY


async def test_the_alert_query_recent_values_come_from_a_real_prometheus(real_prometheus):
    end, surge = real_prometheus.end, real_prometheus.surge
    async with httpx.AsyncClient(timeout=10) as http:
        (series,) = await PrometheusClient(real_prometheus.url, http).recent(ALERT_QUERY, end)
    assert series.service == "checkout"
    assert series.name == ALERT_QUERY  # an expression's result has no __name__
    assert series.ref == f'prometheus:{ALERT_QUERY}{{service="checkout"}}'
    # Only the surge passes the alert's threshold, and PromQL's rate() really ran over it.
    assert all(p.value > 5 for p in series.points)
    assert max(p.value for p in series.points) == pytest.approx(10, rel=0.01)
    first = series.points[0].time
    assert surge - timedelta(minutes=2) <= first <= surge + timedelta(minutes=2)
    assert series.points[-1].time <= end


async def test_the_raw_counter_keeps_its_metric_name(real_prometheus):
    async with httpx.AsyncClient(timeout=10) as http:
        (series,) = await PrometheusClient(real_prometheus.url, http).recent(
            'http_requests_errors_total{service="checkout"}', real_prometheus.end,
            timedelta(minutes=10))
    assert series.name == "http_requests_errors_total" and series.service == "checkout"
    assert len(series.points) == 11  # one per 60 s step over 10 minutes, both ends included


async def test_a_query_prometheus_cannot_parse_is_not_worth_retrying(real_prometheus):
    async with httpx.AsyncClient(timeout=10) as http:
        with pytest.raises(PrometheusError) as err:
            await PrometheusClient(real_prometheus.url, http).recent(
                "rate(http_requests_errors_total", real_prometheus.end)
    assert not err.value.retryable and "400" in str(err.value)
