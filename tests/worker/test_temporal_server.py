"""The dev server's command line, checked without processes, and once against the real binary."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest
from temporalio.common import SearchAttributeKey

from worker import temporal_server
from worker.temporal_server import DevServerPorts
from worker.up import StopRequest, Supervisor

PORTS = DevServerPorts(grpc=17233, ui=18233, http=17243, metrics=17244)
SEARCH_ATTRIBUTES = [SearchAttributeKey.for_keyword("IncidentStatus"),
                     SearchAttributeKey.for_keyword("IncidentEnv")]


def option_values(argv: list[str], option: str) -> list[str]:
    return [argv[i + 1] for i, arg in enumerate(argv) if arg == option]


def build(tmp_path: Path, **overrides) -> list[str]:
    args = {"data_dir": tmp_path, "ports": PORTS, "search_attributes": SEARCH_ATTRIBUTES}
    return temporal_server.dev_server_command(Path("/bin/temporal"), **(args | overrides))


def test_dev_server_listens_only_on_loopback_at_the_configured_ports(tmp_path):
    argv = build(tmp_path)
    assert argv[:3] == ["/bin/temporal", "server", "start-dev"]
    assert option_values(argv, "--ip") == ["127.0.0.1"]
    assert option_values(argv, "--port") == ["17233"]
    assert option_values(argv, "--ui-port") == ["18233"]
    assert option_values(argv, "--http-port") == ["17243"]
    assert option_values(argv, "--metrics-port") == ["17244"]
    assert "--headless" not in argv


def test_dev_server_state_is_sqlite_in_the_data_dir_with_fast_pragmas(tmp_path):
    argv = build(tmp_path)
    assert option_values(argv, "--db-filename") == [str(tmp_path / "temporal.db")]
    assert option_values(argv, "--sqlite-pragma") == ["journal_mode=wal", "synchronous=off"]


def test_dev_server_is_quiet_and_never_reaches_the_internet(tmp_path):
    argv = build(tmp_path)
    assert option_values(argv, "--log-level") == ["error"]
    assert "--ui-disable-news-fetch" in argv


def test_every_product_search_attribute_is_registered_as_keyword(tmp_path):
    product = pytest.importorskip("infra.temporal", reason="infra.temporal not committed yet")
    argv = build(tmp_path, search_attributes=product.SEARCH_ATTRIBUTES)
    registered = option_values(argv, "--search-attribute")
    assert registered == [
        "IncidentStatus=Keyword", "IncidentSeverity=Keyword",
        "IncidentService=Keyword", "IncidentEnv=Keyword",
    ]


def test_search_attribute_types_use_the_cli_spelling():
    keys = [SearchAttributeKey.for_keyword_list("Teams"), SearchAttributeKey.for_datetime("At"),
            SearchAttributeKey.for_int("Cycle")]
    assert temporal_server.search_attribute_flags(keys) == [
        "--search-attribute", "Teams=KeywordList", "--search-attribute", "At=Datetime",
        "--search-attribute", "Cycle=Int",
    ]


def test_a_namespace_other_than_default_is_created_at_launch(tmp_path):
    assert option_values(build(tmp_path), "--namespace") == []
    assert option_values(build(tmp_path, namespace="oncall"), "--namespace") == ["oncall"]


def test_the_binary_is_the_one_installed_next_to_the_interpreter():
    found = temporal_server.find_temporal_binary()
    assert found == Path(sys.executable).with_name("temporal")


def test_a_port_where_nothing_listens_is_not_ready():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"
        binary = temporal_server.find_temporal_binary()
        assert temporal_server.is_ready(binary, address, "default", SEARCH_ATTRIBUTES) is False


@pytest.mark.e2e
def test_the_real_dev_server_accepts_the_command_line_and_lists_our_attributes(tmp_path):
    binary = temporal_server.find_temporal_binary()
    ports = DevServerPorts(*(free_port() for _ in range(4)))
    argv = temporal_server.dev_server_command(
        binary, data_dir=tmp_path, ports=ports, search_attributes=SEARCH_ATTRIBUTES)
    supervisor = Supervisor(tmp_path / "logs", env={}, stop=StopRequest())
    supervisor.logs_dir.mkdir()
    try:
        server = supervisor.start("temporal", argv)
        address = f"127.0.0.1:{ports.grpc}"
        supervisor.wait_until("temporal", lambda: temporal_server.is_ready(
            binary, address, "default", SEARCH_ATTRIBUTES), timeout_s=60)
    finally:
        supervisor.stop_all()
    assert server.process.returncode == 0  # stopped cleanly by SIGTERM, not killed
    assert (tmp_path / "temporal.db").exists()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
