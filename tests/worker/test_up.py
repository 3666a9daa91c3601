"""`lim up`: the supervisor with small real child processes, then the whole stack end to end."""

from __future__ import annotations

import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from infra.settings import Settings
from worker import up
from worker.up import StopRequest, Supervisor

STACK_TIMEOUT_S = 90  # under pytest-timeout's 120 s, so our own message explains a hang


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def settings_on_free_ports(data_dir: Path, **overrides) -> Settings:
    ports = {"api_port": free_port(), "temporal_port": free_port(), "temporal_ui_port": free_port()}
    return Settings(data_dir=data_dir, **(ports | overrides))


def is_running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def python_child(code: str) -> list[str]:
    return [sys.executable, "-c", code]


@pytest.fixture
def supervisor(tmp_path):
    made = Supervisor(tmp_path / "logs", env=dict(os.environ), stop=StopRequest(), grace_s=0.5)
    made.logs_dir.mkdir()
    yield made
    made.stop_all()


# --- the supervisor, with stand-in children ---------------------------------------------------

def test_a_child_that_dies_is_reported_with_its_log_and_ends_supervision(supervisor, capsys):
    supervisor.start("worker", python_child("print('cannot reach Temporal'); exit(3)"))
    assert supervisor.watch() == 1
    err = capsys.readouterr().err
    assert "worker exited unexpectedly with code 3" in err
    assert "cannot reach Temporal" in err


def test_a_stop_signal_ends_supervision_with_success(supervisor):
    supervisor.start("api", python_child("import time; time.sleep(600)"))
    supervisor.stop.signal_name = "SIGTERM"
    assert supervisor.watch() == 0


def test_children_stop_in_reverse_order_and_a_stubborn_one_is_killed(supervisor):
    ignore_term = "import signal,time; signal.signal(signal.SIGTERM, signal.SIG_IGN); " \
                  "print('ignoring', flush=True); time.sleep(600)"
    polite = supervisor.start("temporal", python_child("import time; time.sleep(600)"))
    stubborn = supervisor.start("api", python_child(ignore_term))
    supervisor.wait_until("api", lambda: "ignoring" in stubborn.log_path.read_text(), 30)
    supervisor.stop_all()
    assert stubborn.process.returncode == -signal.SIGKILL
    assert polite.process.returncode == -signal.SIGTERM


def test_processes_a_child_leaves_behind_are_stopped_too(supervisor):
    shell = supervisor.start("worker", ["sh", "-c", "sleep 600 & echo $!; wait"])
    supervisor.wait_until("worker", lambda: shell.log_path.read_text().strip() != "", 30)
    grandchild = int(shell.log_path.read_text())
    supervisor.stop_all()
    assert not is_running(grandchild)


def test_a_child_dying_while_starting_fails_startup_with_its_log(supervisor):
    supervisor.start("temporal", python_child("print('address already in use'); exit(1)"))
    with pytest.raises(up.StartupError, match="address already in use"):
        supervisor.wait_until("the Temporal dev server", lambda: False, timeout_s=30)


def test_children_get_the_settings_lim_up_was_given(tmp_path):
    settings = Settings(data_dir=tmp_path / "d", api_port=9001, temporal_port=9002)
    env = up.child_environment(settings, {"PATH": "/bin", "LIM_API_PORT": "1"})
    assert env["PATH"] == "/bin"
    assert env["LIM_DATA_DIR"] == str((tmp_path / "d").resolve())
    assert env["LIM_API_PORT"] == "9001"
    assert env["LIM_API_HOST"] == "127.0.0.1"
    assert env["LIM_TEMPORAL_ADDRESS"] == "127.0.0.1:9002"
    assert env["LIM_DATABASE_URL"] == settings.db_url
    assert Settings.model_fields.keys() >= {"data_dir", "api_port", "temporal_address"}


# --- failing fast, before anything starts -----------------------------------------------------

def test_a_taken_port_fails_fast_naming_the_port_and_the_option(tmp_path, capsys):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        code = up.run_up(settings_on_free_ports(tmp_path, temporal_ui_port=taken), open_ui=False)
    assert code == 1
    assert f"port {taken} (Temporal UI) is already in use" in capsys.readouterr().err
    assert not (tmp_path / "logs").exists()  # nothing was started


def test_one_port_configured_twice_is_refused(tmp_path, capsys):
    port = free_port()
    settings = settings_on_free_ports(tmp_path, api_port=port, temporal_port=port)
    assert up.run_up(settings, open_ui=False) == 1
    assert "--temporal-port" in capsys.readouterr().err


def test_a_second_lim_up_on_the_same_data_dir_is_refused(tmp_path, capsys):
    with up._data_dir_lock(tmp_path.resolve()):
        assert up.run_up(settings_on_free_ports(tmp_path), open_ui=False) == 1
    assert "another `lim up` is already running" in capsys.readouterr().err


# --- the whole stack --------------------------------------------------------------------------

@pytest.fixture
def lim_up(tmp_path):
    """Start `lim up` on the given ports (data dir through LIM_DATA_DIR, as users may set it);
    whatever happens in the test, it is killed afterwards (its children follow it: they get
    SIGTERM from the kernel when it dies)."""
    started: list[subprocess.Popen[bytes]] = []

    def start(api: int, temporal: int, ui: int) -> subprocess.Popen[bytes]:
        argv = [sys.executable, "-m", "worker.cli", "up",
                "--port", str(api), "--temporal-port", str(temporal), "--ui-port", str(ui)]
        env = {**os.environ, "LIM_DATA_DIR": str(tmp_path / "data")}
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.communicate()


def read_until(process: subprocess.Popen[bytes], marker: str, timeout_s: float) -> str:
    """What `process` printed until `marker` appeared; fails on exit or timeout.

    Reads the pipe's file descriptor directly: a buffered reader could hold the marker in
    its buffer while `select` waits for more bytes that never come."""
    seen = b""
    deadline = time.monotonic() + timeout_s
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while marker.encode() not in seen and time.monotonic() < deadline:
            if not selector.select(timeout=deadline - time.monotonic()):
                break
            chunk = os.read(process.stdout.fileno(), 65536)
            if not chunk:
                break
            seen += chunk
    if marker.encode() in seen:
        return seen.decode()
    process.kill()
    out, err = process.communicate()
    pytest.fail(f"no {marker!r} from lim up:\n{(seen + out).decode()}\n{err.decode()}")


def children_of(pid: int) -> dict[int, str]:
    """pid -> command line of each direct child of `pid`."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found[int(entry.name)] = cmdline
    return found


def started_stack(lim_up) -> tuple[subprocess.Popen[bytes], dict[int, str], list[int]]:
    ports = [free_port() for _ in range(3)]
    process = lim_up(*ports)
    banner = read_until(process, "Press Ctrl-C", STACK_TIMEOUT_S)
    assert f"http://127.0.0.1:{ports[0]}/docs" in banner
    assert f"Temporal UI    http://127.0.0.1:{ports[2]}" in banner
    children = children_of(process.pid)
    assert sorted(role_of(cmd) for cmd in children.values()) == ["api", "temporal", "worker"]
    return process, children, ports


def nice_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def role_of(cmdline: str) -> str:
    return "temporal" if "start-dev" in cmdline else cmdline.split()[-1]


requires_cli = pytest.mark.skipif(
    not Path(up.__file__).with_name("cli.py").exists(), reason="worker.cli not written yet")


@requires_cli
@pytest.mark.e2e
def test_lim_up_serves_then_stops_every_child_on_sigterm(lim_up, tmp_path):
    import httpx

    process, children, ports = started_stack(lim_up)
    assert httpx.get(f"http://127.0.0.1:{ports[0]}/healthz", timeout=5).status_code == 200
    # Incident work yields the CPU to ingestion on one machine (LIM_UP_BACKGROUND_NICE).
    assert {role_of(cmd): nice_of(pid) for pid, cmd in children.items()} == {
        "api": 0, "worker": 10, "temporal": 10}
    process.send_signal(signal.SIGTERM)
    err = process.communicate(timeout=STACK_TIMEOUT_S)[1].decode()
    assert process.returncode == 0, err
    assert [pid for pid in children if is_running(pid)] == []
    assert all(up.port_is_free(port) for port in ports)
    assert {"temporal.log", "worker.log", "api.log"} <= {
        p.name for p in (tmp_path / "data" / "logs").iterdir()}


@requires_cli
@pytest.mark.e2e
def test_lim_up_stops_everything_when_a_child_dies(lim_up):
    process, children, _ = started_stack(lim_up)
    worker = next(pid for pid, cmd in children.items() if role_of(cmd) == "worker")
    os.kill(worker, signal.SIGKILL)
    err = process.communicate(timeout=STACK_TIMEOUT_S)[1].decode()
    assert process.returncode == 1
    assert "worker exited unexpectedly" in err
    assert [pid for pid in children if is_running(pid)] == []


@requires_cli
@pytest.mark.e2e
def test_lim_up_on_a_taken_port_fails_fast_naming_the_option(lim_up):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        process = lim_up(taken, free_port(), free_port())
        err = process.communicate(timeout=STACK_TIMEOUT_S)[1].decode()
    assert process.returncode != 0
    assert f"port {taken} (API) is already in use" in err
    assert "--port" in err
