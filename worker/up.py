"""`lim up`: the whole product on one machine, on loopback, with one command.

Starts the Temporal dev server (SQLite under the data dir), migrates the database, starts the
worker and the API as child processes, waits until each answers, prints where to find them and
then supervises: a child that dies takes the stack down with a non-zero exit, and Ctrl-C or
SIGTERM stops every child (SIGTERM, then SIGKILL after a grace period), API first, Temporal last.

Plain `subprocess` + `signal` on one thread: nothing runs in the background that could swallow
an error. Signal handlers only record the request; the main loop acts on it.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
import webbrowser
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from infra.settings import Settings
from worker import temporal_server
from worker.temporal_server import DevServerPorts

LOOPBACK = "127.0.0.1"
TEMPORAL_READY_TIMEOUT_S = 60.0
API_READY_TIMEOUT_S = 90.0  # the API imports the whole product; slow on a busy 2-core box
STOP_GRACE_S = 10.0
POLL_INTERVAL_S = 0.2
LOG_TAIL_LINES = 15
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
PR_SET_PDEATHSIG = 1

# Which option changes each port, for "port in use" messages.
PORT_OPTIONS = {
    "api_port": ("API", "--port", "LIM_API_PORT"),
    "temporal_port": ("Temporal gRPC", "--temporal-port", "LIM_TEMPORAL_PORT"),
    "temporal_ui_port": ("Temporal UI", "--ui-port", "LIM_TEMPORAL_UI_PORT"),
}


class StartupError(Exception):
    """The stack could not start. The message says what to change; retrying as-is won't help."""


class Interrupted(Exception):
    """A stop signal arrived while the stack was still starting."""


@dataclass
class StopRequest:
    """Set by the signal handler, read by the main loop."""

    signal_name: str | None = None


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path


@dataclass
class Supervisor:
    """Starts children into their own process groups, watches them, and stops them in reverse."""

    logs_dir: Path
    env: dict[str, str]
    stop: StopRequest
    grace_s: float = STOP_GRACE_S
    children: list[Child] = field(default_factory=list)

    def start(self, name: str, argv: list[str], nice: int = 0) -> Child:
        """Start `argv` with stdout and stderr going to `<logs_dir>/<name>.log`, `nice` lower
        in priority than us."""
        log_path = self.logs_dir / f"{name}.log"
        if log_path.exists():  # keep one previous run for post-mortems
            log_path.replace(log_path.with_suffix(".log.1"))
        with open(log_path, "wb") as log:
            # Own process group: a terminal's Ctrl-C reaches only us, so we stop children in
            # order (API and worker before the Temporal server they talk to). preexec_fn is safe
            # here: the supervisor never starts threads.
            process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=self.env, process_group=0, preexec_fn=_pre_exec(nice),  # noqa: PLW1509
            )
        child = Child(name, process, log_path)
        self.children.append(child)
        return child

    def wait_until(self, what: str, ready: Callable[[], bool], timeout_s: float) -> None:
        """Return once `ready()` is true; raise StartupError on timeout or a dead child,
        Interrupted on a stop signal."""
        deadline = time.monotonic() + timeout_s
        while True:
            self.raise_if_stopping_or_dead(what)
            if ready():
                return
            if time.monotonic() > deadline:
                raise StartupError(f"{what} did not become ready within {timeout_s:.0f} s; "
                                   f"see the logs in {self.logs_dir}")
            time.sleep(POLL_INTERVAL_S)

    def raise_if_stopping_or_dead(self, what: str) -> None:
        if self.stop.signal_name:
            raise Interrupted(self.stop.signal_name)
        dead = self.first_dead_child()
        if dead:
            raise StartupError(f"{dead.name} exited with code {dead.process.returncode} "
                               f"while waiting for {what}\n{describe_log(dead)}")

    def first_dead_child(self) -> Child | None:
        return next((c for c in self.children if c.process.poll() is not None), None)

    def watch(self) -> int:
        """Block until a stop signal (returns 0) or a child's death (reports it, returns 1)."""
        while not self.stop.signal_name:
            dead = self.first_dead_child()
            if dead:
                print(f"lim up: {dead.name} exited unexpectedly with code "
                      f"{dead.process.returncode}; stopping everything.\n{describe_log(dead)}",
                      file=sys.stderr, flush=True)
                return 1
            time.sleep(POLL_INTERVAL_S)
        print(f"lim up: {self.stop.signal_name} received, stopping.", flush=True)
        return 0

    def stop_all(self) -> None:
        """SIGTERM each child's process group in reverse start order; SIGKILL after the grace."""
        for child in reversed(self.children):
            _stop_child(child, self.grace_s)


def run_up(settings: Settings, *, open_ui: bool = True) -> int:
    """Run the local stack until Ctrl-C/SIGTERM (exit 0) or until something fails (exit 1).

    Options come from `settings`: data_dir, api_port, temporal_port, temporal_ui_port,
    temporal_namespace, database_url. Children get the same settings through `LIM_*` variables.
    """
    stop = StopRequest()
    data_dir = settings.data_dir.resolve()
    with _stop_on_signals(stop):
        try:
            check_ports_free(settings)
            with _data_dir_lock(data_dir):
                return _run_stack(settings, data_dir, stop, open_ui=open_ui)
        except StartupError as err:
            print(f"lim up: {err}", file=sys.stderr, flush=True)
            return 1


def _run_stack(settings: Settings, data_dir: Path, stop: StopRequest, *, open_ui: bool) -> int:
    from infra.db.migrate import upgrade

    supervisor = Supervisor(data_dir / "logs", child_environment(settings, os.environ), stop)
    supervisor.logs_dir.mkdir(parents=True, exist_ok=True)
    api_url = f"http://{LOOPBACK}:{settings.api_port}"
    ui_url = f"http://{LOOPBACK}:{settings.temporal_ui_port}"
    try:
        wait_for_temporal = _start_temporal(supervisor, settings, data_dir)
        _migrate(upgrade, settings.db_url)  # while the dev server boots
        wait_for_temporal()
        supervisor.start("worker", app_command("worker"), nice=settings.up_background_nice)
        supervisor.start("api", app_command("api"))
        supervisor.wait_until("the API", lambda: api_answers(api_url), API_READY_TIMEOUT_S)
        print_banner(api_url, ui_url, f"{LOOPBACK}:{settings.temporal_port}", data_dir)
        if open_ui and sys.stdout.isatty():
            webbrowser.open(ui_url)
        return supervisor.watch()
    except Interrupted as stopped:
        print(f"lim up: {stopped} received while starting, stopping.", flush=True)
        return 0
    finally:
        supervisor.stop_all()


def _start_temporal(
    supervisor: Supervisor, settings: Settings, data_dir: Path
) -> Callable[[], None]:
    """Start the dev server; return how to wait until it serves our search attributes."""
    from infra.temporal import SEARCH_ATTRIBUTES

    try:
        binary = temporal_server.find_temporal_binary()
    except FileNotFoundError as err:
        raise StartupError(str(err)) from err
    ports = DevServerPorts(settings.temporal_port, settings.temporal_ui_port,
                           http=free_port(), metrics=free_port())
    supervisor.start("temporal", temporal_server.dev_server_command(
        binary, data_dir=data_dir, ports=ports, search_attributes=SEARCH_ATTRIBUTES,
        namespace=settings.temporal_namespace), nice=settings.up_background_nice)
    address = f"{LOOPBACK}:{settings.temporal_port}"
    namespace = settings.temporal_namespace

    def wait() -> None:
        supervisor.wait_until("the Temporal dev server", lambda: temporal_server.is_ready(
            binary, address, namespace, SEARCH_ATTRIBUTES), TEMPORAL_READY_TIMEOUT_S)

    return wait


def app_command(name: str) -> list[str]:
    """How `lim up` runs one part of the product: `lim <name>` with this interpreter."""
    return [sys.executable, "-m", "worker.cli", name]


def _migrate(upgrade: Callable[[str], None], db_url: str) -> None:
    try:
        upgrade(db_url)
    except Exception as err:  # boundary: re-raised as a startup failure with the cause
        raise StartupError(f"database migration failed: {err.__class__.__name__}: {err}") from err


def check_ports_free(settings: Settings) -> None:
    """Raise StartupError naming the first configured port that is taken or used twice."""
    seen: dict[int, str] = {}
    for attr, (label, option, env_name) in PORT_OPTIONS.items():
        port = getattr(settings, attr)
        if port in seen:
            raise StartupError(f"port {port} is configured for both the {seen[port]} and the "
                               f"{label}; choose another with {option} (or {env_name})")
        seen[port] = label
        if not port_is_free(port):
            raise StartupError(f"port {port} ({label}) is already in use on {LOOPBACK}; stop "
                               f"what uses it or choose another with {option} (or {env_name})")


def port_is_free(port: int) -> bool:
    """Whether a server could listen on loopback `port` now (SO_REUSEADDR, as servers set it,
    so a port in TIME_WAIT counts as free)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A loopback port the OS considers free right now."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def child_environment(settings: Settings, base: Mapping[str, str]) -> dict[str, str]:
    """`base` plus the settings `lim up` may have changed, so children build the same Settings.

    Other settings reach children unchanged: they inherit the environment and the working
    directory (hence the same `.env` file).
    """
    env = dict(base)
    env.update({
        "LIM_DATA_DIR": str(settings.data_dir.resolve()),
        "LIM_DATABASE_URL": settings.db_url,
        "LIM_API_HOST": LOOPBACK,
        "LIM_API_PORT": str(settings.api_port),
        "LIM_TEMPORAL_ADDRESS": f"{LOOPBACK}:{settings.temporal_port}",
        "LIM_TEMPORAL_NAMESPACE": settings.temporal_namespace,
        "LIM_TEMPORAL_PORT": str(settings.temporal_port),
        "LIM_TEMPORAL_UI_PORT": str(settings.temporal_ui_port),
        "LIM_LOG_LEVEL": settings.log_level,
        "PYTHONUNBUFFERED": "1",  # logs reach the file as they happen
    })
    if settings.config_file:
        env["LIM_CONFIG_FILE"] = str(settings.config_file.resolve())
    if settings.worker_metrics_address:
        env["LIM_WORKER_METRICS_ADDRESS"] = settings.worker_metrics_address
    return env


def api_answers(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/healthz", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def print_banner(api_url: str, ui_url: str, temporal_address: str, data_dir: Path) -> None:
    print(
        "LLM Incident Manager is up.\n"
        f"  API            {api_url}\n"
        f"  OpenAPI docs   {api_url}/docs\n"
        f"  Temporal UI    {ui_url}\n"
        f"  Temporal gRPC  {temporal_address}\n"
        f"  Data and logs  {data_dir} (logs/)\n"
        "Press Ctrl-C to stop.",
        flush=True,
    )


def describe_log(child: Child) -> str:
    """The last lines of a child's log, for a failure message."""
    try:
        lines = child.log_path.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
    except OSError:
        return f"(no log at {child.log_path})"
    body = "\n".join(f"  | {line}" for line in lines)
    return f"last lines of {child.log_path}:\n{body}"


def _stop_child(child: Child, grace_s: float) -> None:
    if child.process.poll() is None:
        _signal_group(child, signal.SIGTERM)
        try:
            child.process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            print(f"lim up: {child.name} ignored SIGTERM for {grace_s:.0f} s; killing it.",
                  file=sys.stderr, flush=True)
            child.process.kill()
            child.process.wait()
    _signal_group(child, signal.SIGKILL)  # anything the child left behind in its group


def _signal_group(child: Child, signum: signal.Signals) -> None:
    try:
        os.killpg(child.process.pid, signum)
    except ProcessLookupError:
        pass  # the group is already empty


@contextmanager
def _stop_on_signals(stop: StopRequest) -> Iterator[None]:
    def record(signum: int, _frame: object) -> None:
        stop.signal_name = signal.Signals(signum).name

    previous = {signum: signal.signal(signum, record) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def _data_dir_lock(data_dir: Path) -> Iterator[None]:
    """Refuse a second `lim up` on the same data dir: two Temporal servers on one SQLite file
    would corrupt it. The OS drops the lock when we exit, however we exit."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / "lim-up.lock", "a+") as lock_file:
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            raise StartupError(f"another `lim up` is already running on {data_dir}; stop it "
                               "or choose another data dir with --data-dir") from err
        yield


def _pre_exec(nice: int) -> Callable[[], None] | None:
    """A pre-exec hook: lower the child's priority by `nice`, and ask Linux to SIGTERM the
    child if `lim up` itself dies (a SIGKILL leaves us no chance to stop children), so no
    server outlives its supervisor. libc is loaded here, in the parent, so the hook only makes
    system calls after fork.

    Why nice: measured with `bench/ingest.py` on `lim up` (2 cores, 10,000 alerts/s offered),
    the dev server and the worker at nice 10 let the API accept 5,011/s (p99 456 ms) against
    3,529/s (p99 836 ms) at equal priority; they still get every cycle the API leaves idle."""
    prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None
    if prctl is None and not nice:
        return None

    def hook() -> None:
        if nice:
            os.nice(nice)
        if prctl is not None:
            prctl(PR_SET_PDEATHSIG, signal.SIGTERM)

    return hook


if __name__ == "__main__":  # `python -m worker.up`: the same as `lim up`, configured by env only
    raise SystemExit(run_up(Settings()))
