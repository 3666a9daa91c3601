"""`PrometheusClient` against a real Prometheus (Debian's `prometheus`, unpacked by `make test`).

The series is backfilled with `promtool tsdb create-blocks-from openmetrics` rather than
scraped: the data is then fixed (no waiting for scrapes, no dependence on the clock beyond the
start time) and the first query can already see an hour of history, as an alert's would.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from activities.llm.prometheus import PrometheusClient, PrometheusError
from tests.conftest import missing

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
# The alert's own expression: error rate above 5/s. Errors ran at 1/s for half an hour, then
# at 10/s for the half hour before END.
ALERT_QUERY = "sum by (service) (rate(http_requests_errors_total[2m])) > 5"
STARTUP_DEADLINE_SECONDS = 60  # a loaded 2-core box; normally under 2 s
END = datetime.fromtimestamp(int(time.time()) // 60 * 60, UTC)
SURGE = END - timedelta(minutes=30)


def _openmetrics() -> str:
    lines = ["# HELP http_requests_errors_total Errors served.",
             "# TYPE http_requests_errors_total counter"]
    total, end = 0, int(END.timestamp())
    for t in range(end - 3600, end - 45, 15):
        total += 15 if t < SURGE.timestamp() else 150
        lines.append(f'http_requests_errors_total{{service="checkout",job="web"}} {total} {t}')
    return "\n".join([*lines, "# EOF", ""])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_series(base_url: str, process: subprocess.Popen, log_path) -> None:
    """Until the backfilled series answers a query (bounded); fail with the log if it exits."""
    deadline = time.monotonic() + STARTUP_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail("prometheus exited:\n" + log_path.read_text()[-2000:])
        try:
            r = httpx.get(f"{base_url}/api/v1/series",
                          params={"match[]": "http_requests_errors_total",
                                  "start": (END - timedelta(hours=1)).timestamp(),
                                  "end": END.timestamp()}, timeout=2)
            if r.status_code == 200 and r.json()["data"]:
                return
        except httpx.TransportError:
            pass  # not listening yet
        time.sleep(0.2)
    pytest.fail("prometheus never served the backfilled series:\n" + log_path.read_text()[-2000:])


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory) -> Iterator[str]:
    if PROMETHEUS is None or PROMTOOL is None:  # `make test` unpacks Debian's package
        missing("prometheus/promtool not installed (make test fetches them)")
    work = tmp_path_factory.mktemp("prometheus")
    (work / "series.om").write_text(_openmetrics())
    subprocess.run([PROMTOOL, "tsdb", "create-blocks-from", "openmetrics",
                    str(work / "series.om"), str(work / "data")],
                   check=True, capture_output=True, timeout=60)
    (work / "prometheus.yml").write_text("global: {scrape_interval: 1h}\nscrape_configs: []\n")
    base_url = f"http://127.0.0.1:{_free_port()}"
    log_path = work / "prometheus.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [PROMETHEUS, f"--config.file={work / 'prometheus.yml'}",
             f"--storage.tsdb.path={work / 'data'}",
             f"--web.listen-address={base_url.removeprefix('http://')}"],
            stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for_series(base_url, process, log_path)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


async def test_the_alert_query_recent_values_come_from_a_real_prometheus(prometheus):
    async with httpx.AsyncClient(timeout=10) as http:
        (series,) = await PrometheusClient(prometheus, http).recent(ALERT_QUERY, END)
    assert series.service == "checkout"
    assert series.name == ALERT_QUERY  # an expression's result has no __name__
    # Only the surge passes the alert's threshold, and PromQL's rate() really ran over it.
    assert all(p.value > 5 for p in series.points)
    assert max(p.value for p in series.points) == pytest.approx(10, rel=0.01)
    first = series.points[0].time
    assert SURGE - timedelta(minutes=2) <= first <= SURGE + timedelta(minutes=2)
    assert series.points[-1].time <= END


async def test_the_raw_counter_keeps_its_metric_name(prometheus):
    async with httpx.AsyncClient(timeout=10) as http:
        (series,) = await PrometheusClient(prometheus, http).recent(
            'http_requests_errors_total{service="checkout"}', END, timedelta(minutes=10))
    assert series.name == "http_requests_errors_total" and series.service == "checkout"
    assert len(series.points) == 11  # one per 60 s step over 10 minutes, both ends included


async def test_a_query_prometheus_cannot_parse_is_not_worth_retrying(prometheus):
    async with httpx.AsyncClient(timeout=10) as http:
        with pytest.raises(PrometheusError) as err:
            await PrometheusClient(prometheus, http).recent("rate(http_requests_errors_total",
                                                            END)
    assert not err.value.retryable and "400" in str(err.value)
