from datetime import UTC, datetime, timedelta

import httpx
import pytest

from activities.llm.prometheus import PrometheusClient, PrometheusError
from tests.activities.llm.conftest import FakePrometheus

END = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def prometheus():
    async with FakePrometheus() as server:
        yield server


async def test_recent_values_come_back_as_metric_series(prometheus):
    async with httpx.AsyncClient() as http:
        series = await PrometheusClient(prometheus.url, http).recent("error_ratio", END)
    assert series[0].service == "checkout" and series[0].name == "error_ratio"
    assert len(series[0].points) == 61
    assert prometheus.received[0].query["query"] == "error_ratio"
    assert float(prometheus.received[0].query["end"]) == END.timestamp()


async def test_a_failing_prometheus_says_retrying_may_help(prometheus):
    prometheus.fail(503)
    async with httpx.AsyncClient() as http:
        with pytest.raises(PrometheusError) as err:
            await PrometheusClient(prometheus.url, http).recent("up", END, timedelta(minutes=5))
    assert err.value.retryable
