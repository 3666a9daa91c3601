from datetime import UTC, datetime, timedelta

import httpx
import pytest
from aiohttp import web

from activities.llm.prometheus import PrometheusClient, PrometheusError
from tests.vendors.base import VendorServer

END = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


class FakePrometheus(VendorServer):
    """Speaks `GET /api/v1/query_range` with a matrix result, like Prometheus 2.x."""

    def routes(self):
        return [web.get("/api/v1/query_range", self._range)]

    async def _range(self, request):
        start, end = float(request.query["start"]), float(request.query["end"])
        step = float(request.query["step"])
        values, t = [], start
        while t <= end:
            values.append([t, "0.9" if t > (start + end) / 2 else "0.1"])
            t += step
        return web.json_response(
            {
                "status": "success",
                "data": {
                    "resultType": "matrix",
                    "result": [
                        {
                            "metric": {"__name__": "error_ratio", "service": "checkout"},
                            "values": values,
                        }
                    ],
                },
            }
        )


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
