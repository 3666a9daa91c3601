"""A real Alertmanager (Debian `prometheus-alertmanager`) notifies a receiver on 127.0.0.1 that
parses with `AlertmanagerSource`: proof that we read what Alertmanager actually sends.

Skipped when the binary is not installed (`apt-get install prometheus-alertmanager`).
"""

from __future__ import annotations

import http.server
import queue
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from api.ingest.base import IngestLimits, ParsedBatch
from api.ingest.sources.alertmanager import AlertmanagerSource
from tests.conftest import missing
from workflows.domain.alerts import AlertStatus, fingerprint_of

BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")

@pytest.fixture(autouse=True)
def _alertmanager_installed():
    if BINARY is None:  # `make test` unpacks Debian's package into .venv/tools
        missing("prometheus-alertmanager not installed (make test fetches it)")

LABELS = {"alertname": "LLMTokensPerSecondHigh", "service": "vllm-gateway", "env": "prod",
          "severity": "critical", "model": "llama-3-70b"}


class Receiver(http.server.BaseHTTPRequestHandler):
    """Parses each webhook body exactly as the ingestion route will, and queues the result."""

    parsed: queue.Queue[tuple[dict[str, str], ParsedBatch]]
    source = AlertmanagerSource(IngestLimits())

    def do_POST(self) -> None:  # the name http.server dispatches POST requests to
        body = self.rfile.read(int(self.headers["Content-Length"]))
        headers = {key.lower(): value for key, value in self.headers.items()}
        self.parsed.put((headers, self.source.parse(body, headers, datetime.now(UTC))))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:  # keep test output clean
        return


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def receiver() -> Iterator[tuple[int, queue.Queue]]:
    handler = type("BoundReceiver", (Receiver,), {"parsed": queue.Queue()})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port, handler.parsed
    server.shutdown()
    server.server_close()


@pytest.fixture
def alertmanager(tmp_path, receiver) -> Iterator[tuple[str, queue.Queue]]:
    port, parsed = receiver
    (tmp_path / "am.yml").write_text(f"""
route: {{receiver: lim, group_by: [alertname], group_wait: 0s, group_interval: 1s}}
receivers:
  - name: lim
    webhook_configs:
      - {{url: "http://127.0.0.1:{port}/hook", send_resolved: true,
          http_config: {{authorization: {{credentials: test-key}}}}}}
""")
    web = f"127.0.0.1:{free_port()}"
    process = subprocess.Popen(
        [BINARY, f"--config.file={tmp_path / 'am.yml'}", f"--storage.path={tmp_path / 'data'}",
         f"--web.listen-address={web}", "--cluster.listen-address=", "--log.level=info"],
        stderr=subprocess.PIPE, text=True)
    try:
        # Alertmanager logs "Listening on" once its API accepts requests: wait for that line.
        seen: list[str] = []
        for line in process.stderr:
            seen.append(line)
            if "Listening on" in line or "listening on" in line:
                break
        else:  # stderr closed: it exited (a bad config, a missing template file...)
            pytest.fail("Alertmanager exited before listening:\n" + "".join(seen[-5:]))
        threading.Thread(target=process.stderr.read, daemon=True).start()  # keep pipe drained
        yield f"http://{web}", parsed
    finally:
        process.terminate()
        process.wait(timeout=10)


def push(base_url: str, alert: dict) -> None:
    httpx.post(f"{base_url}/api/v2/alerts", json=[alert], timeout=10).raise_for_status()


def test_what_alertmanager_sends_parses_into_the_alerts_pushed_to_it(alertmanager):
    base_url, parsed = alertmanager
    starts = "2024-05-14T09:22:11.906127433Z"
    push(base_url, {"labels": LABELS, "startsAt": starts,
                    "annotations": {"summary": "Token throughput above budget",
                                    "description": "Owner: ml-oncall@example.com"}})
    headers, batch = parsed.get(timeout=30)
    assert headers["content-type"] == "application/json"
    assert headers["authorization"] == "Bearer test-key"
    assert batch.rejected == []
    (alert,) = batch.alerts
    assert alert.status is AlertStatus.FIRING
    assert alert.labels == LABELS
    assert alert.fingerprint == fingerprint_of(LABELS)
    assert alert.starts_at == datetime(2024, 5, 14, 9, 22, 11, 906127, tzinfo=UTC)
    assert alert.ends_at is None
    assert alert.description == "Owner: [REDACTED:email]"
    assert len(alert.annotations["source.fingerprint"]) == 16
    assert (alert.tags.metric_type, alert.tags.model_id) == ("cost", "llama-3-70b")

    push(base_url, {"labels": LABELS, "startsAt": starts, "endsAt": "2024-05-14T09:40:00Z"})
    _, resolved_batch = parsed.get(timeout=30)
    (resolved,) = resolved_batch.alerts
    assert resolved.status is AlertStatus.RESOLVED
    assert resolved.fingerprint == alert.fingerprint
    assert resolved.ends_at == datetime(2024, 5, 14, 9, 40, tzinfo=UTC)
