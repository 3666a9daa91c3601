"""Prometheus for the analysis tests: a real one with a known history, and a wire fake.

The real one is Debian's `prometheus` (unpacked by `make test`); the fake (`FakePrometheus`)
exists for what a real server will not do on demand: fail with a 503, or never answer.

The series is backfilled with `promtool tsdb create-blocks-from openmetrics` rather than
scraped: the data is then fixed (no waiting for scrapes, no dependence on the clock beyond the
start time) and the first query can already see an hour of history, as an alert's would.

`checkout` served 1 error/s for half an hour, then 10 errors/s for the half hour before `end`;
the alert that fired on it is `ALERT_QUERY`, starting at `surge`.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import httpx
import pytest
from aiohttp import web

from tests.conftest import missing
from tests.vendors.base import VendorServer

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
# The alert's own expression: error rate above 5/s.
ALERT_QUERY = "sum by (service) (rate(http_requests_errors_total[2m])) > 5"
STARTUP_DEADLINE_SECONDS = 60  # a loaded 2-core box; normally under 2 s


@dataclass(frozen=True)
class BackfilledPrometheus:
    url: str
    end: datetime  # the last minute of history (whole minute, UTC)
    surge: datetime  # when errors rose tenfold: the alert's onset

    def graph_link(self, expression: str) -> str:
        """The `generatorURL` Prometheus puts on an alert for a rule with this expression."""
        # Prometheus escapes it with Go's url.QueryEscape, as `urlencode` does (spaces as '+').
        return f"{self.url}/graph?" + urlencode({"g0.expr": expression, "g0.tab": "1"})


def _openmetrics(end: datetime, surge: datetime) -> str:
    lines = ["# HELP http_requests_errors_total Errors served.",
             "# TYPE http_requests_errors_total counter"]
    total, last = 0, int(end.timestamp())
    for t in range(last - 3600, last - 45, 15):
        total += 15 if t < surge.timestamp() else 150
        lines.append(f'http_requests_errors_total{{service="checkout",job="web"}} {total} {t}')
    return "\n".join([*lines, "# EOF", ""])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_series(base_url: str, end: datetime, process: subprocess.Popen, log_path) -> None:
    """Until the backfilled series answers a query (bounded); fail with the log if it exits."""
    deadline = time.monotonic() + STARTUP_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail("prometheus exited:\n" + log_path.read_text()[-2000:])
        try:
            r = httpx.get(f"{base_url}/api/v1/series",
                          params={"match[]": "http_requests_errors_total",
                                  "start": (end - timedelta(hours=1)).timestamp(),
                                  "end": end.timestamp()}, timeout=2)
            if r.status_code == 200 and r.json()["data"]:
                return
        except httpx.TransportError:
            pass  # not listening yet
        time.sleep(0.2)
    pytest.fail("prometheus never served the backfilled series:\n" + log_path.read_text()[-2000:])


@pytest.fixture(scope="session")
def real_prometheus(tmp_path_factory) -> Iterator[BackfilledPrometheus]:
    if PROMETHEUS is None or PROMTOOL is None:  # `make test` unpacks Debian's package
        missing("prometheus/promtool not installed (make test fetches them)")
    end = datetime.fromtimestamp(int(time.time()) // 60 * 60, UTC)
    surge = end - timedelta(minutes=30)
    work = tmp_path_factory.mktemp("prometheus")
    (work / "series.om").write_text(_openmetrics(end, surge))
    subprocess.run([PROMTOOL, "tsdb", "create-blocks-from", "openmetrics",
                    str(work / "series.om"), str(work / "data")],
                   check=True, capture_output=True, timeout=60)
    (work / "prometheus.yml").write_text("global: {scrape_interval: 1h}\nscrape_configs: []\n")
    base_url = f"http://127.0.0.1:{free_port()}"
    log_path = work / "prometheus.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [PROMETHEUS, f"--config.file={work / 'prometheus.yml'}",
             f"--storage.tsdb.path={work / 'data'}",
             f"--web.listen-address={base_url.removeprefix('http://')}"],
            stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for_series(base_url, end, process, log_path)
        yield BackfilledPrometheus(base_url, end, surge)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


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
