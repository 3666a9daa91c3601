"""The real product on loopback for end-to-end tests: dev server, migrations, worker, API.

`running_stack(kind, db_url, root)` starts what `lim up` starts, but every port is a free one and
every file lives under `root`, so it never collides with a developer's own stack or another
test run. Children are started through `worker.up.Supervisor` (own process group, a parent-death
signal, logs under `root/logs`), so nothing outlives the test session even if pytest itself is
killed, and teardown waits a bounded time before SIGKILL.

Tests talk to the stack only the way users do: HTTP, the `lim` CLI, and (for history counts)
a Temporal client. No `WorkflowEnvironment` here: a process may run only one.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import text
from temporalio.client import Client

from infra.db.engine import make_engine
from infra.db.migrate import upgrade
from infra.settings import Settings
from infra.temporal import SEARCH_ATTRIBUTES, connect
from worker import temporal_server
from worker.temporal_server import DevServerPorts
from worker.up import (
    LOOPBACK,
    Child,
    StopRequest,
    Supervisor,
    api_answers,
    app_command,
    child_environment,
    free_port,
)

READY_TIMEOUT_S = 90.0  # a busy 2-core box may take this long to import the product twice
CLI_TIMEOUT_S = 60.0
STOP_GRACE_S = 3.0  # then SIGKILL: a test stack has nothing to save
WORKER_READY_LINE = "worker polling"  # logged by worker.main once its pollers run


@dataclass
class Stack:
    """A running product. `api_url`/`admin_key` for HTTP; `temporal_address` for history reads."""

    kind: str
    root: Path
    db_url: str
    api_url: str
    temporal_address: str
    supervisor: Supervisor
    admin_key: str = ""
    worker_metrics_url: str = ""

    # ---- talking to it -----------------------------------------------------------------------

    def http(self, key: str | None = None, timeout: float = 60.0) -> httpx.AsyncClient:
        """An HTTP client on the API, authenticated with `key` (default: the admin key; "" for none)."""
        key = self.admin_key if key is None else key
        headers = {"authorization": f"Bearer {key}"} if key else {}
        return httpx.AsyncClient(base_url=self.api_url, headers=headers, timeout=timeout)

    async def temporal(self) -> Client:
        return await connect(self.temporal_address)

    def lim(self, *args: str) -> str:
        """Run `lim <args>` against this stack's settings; returns stdout, raises on failure."""
        done = subprocess.run([sys.executable, "-m", "worker.cli", *args], env=self.supervisor.env,
                              capture_output=True, text=True, timeout=CLI_TIMEOUT_S, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"lim {' '.join(args)} exited {done.returncode}: {done.stderr[-2000:]}")
        return done.stdout

    def create_key(self, name: str, scope: str = "admin") -> tuple[str, str]:
        """(key id, secret) from `lim keys create`, which prints the secret as its last line."""
        lines = self.lim("keys", "create", "--name", name, "--scope", scope).strip().splitlines()
        key_id = re.search(r"\bkey_[0-9a-f]+\b", lines[-2])
        assert key_id, f"no key id in {lines!r}"
        return key_id.group(0), lines[-1].strip()

    # ---- breaking it -------------------------------------------------------------------------

    def child(self, name: str) -> Child:
        return next(c for c in self.supervisor.children if c.name == name)

    def kill_worker(self, sig: signal.Signals = signal.SIGKILL) -> None:
        """Send `sig` to the worker's process group and wait (bounded) until it is gone."""
        worker = self.child("worker")
        os.killpg(worker.process.pid, sig)
        worker.process.wait(timeout=STOP_GRACE_S * 2)
        self.supervisor.children.remove(worker)

    def start_worker(self, wait: bool = True) -> None:
        """Start a worker; with `wait`, return once it polls its task queues (blocking).

        Call it from the main thread: the parent-death signal follows the thread that started
        the child. Use `wait=False` plus `await worker_polling()` to keep the event loop running.
        """
        worker = self.supervisor.start("worker", app_command("worker"))
        if wait:
            self.supervisor.wait_until("the worker", lambda: _polling(worker), READY_TIMEOUT_S)

    async def worker_polling(self) -> None:
        worker = self.child("worker")

        async def ready() -> bool:
            assert worker.process.poll() is None, f"the worker died:\n{self.log_tail('worker')}"
            return _polling(worker)

        await eventually(ready, timeout=READY_TIMEOUT_S)

    @contextmanager
    def temporal_frozen(self) -> Iterator[None]:
        """Temporal stops answering (SIGSTOP) inside the block and resumes (SIGCONT) after it."""
        server = self.child("temporal").process.pid
        os.killpg(server, signal.SIGSTOP)
        try:
            yield
        finally:
            os.killpg(server, signal.SIGCONT)

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.supervisor.logs_dir / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


@contextmanager
def running_stack(kind: str, db_url: str, root: Path, *, extra_env: dict[str, str] | None = None,
                  config_file: Path | None = None) -> Iterator[Stack]:
    """Start Temporal, migrate `db_url`, apply `config_file` (configuration as code), start worker
    and API with `extra_env`, create an admin key; stop it all after."""
    ports = DevServerPorts(grpc=free_port(), ui=free_port(), http=free_port(), metrics=free_port())
    settings = Settings(data_dir=root, database_url=db_url, api_port=free_port(),
                        temporal_port=ports.grpc, temporal_ui_port=ports.ui,
                        worker_metrics_address=f"{LOOPBACK}:{free_port()}")
    env = child_environment(settings, os.environ) | (extra_env or {})
    supervisor = Supervisor(root / "logs", env, StopRequest(), grace_s=STOP_GRACE_S)
    supervisor.logs_dir.mkdir(parents=True, exist_ok=True)
    stack = Stack(kind=kind, root=root, db_url=db_url,
                  api_url=f"http://{LOOPBACK}:{settings.api_port}",
                  temporal_address=f"{LOOPBACK}:{ports.grpc}", supervisor=supervisor,
                  worker_metrics_url=f"http://{settings.worker_metrics_address}/metrics")
    try:
        _start(stack, ports, config_file)
        yield stack
    finally:
        supervisor.stop_all()


def _start(stack: Stack, ports: DevServerPorts, config_file: Path | None) -> None:
    """Everything that can start in parallel does: on a busy box the imports dominate."""
    binary = temporal_server.find_temporal_binary()
    sup = stack.supervisor
    upgrade(stack.db_url)  # first: the API reads its configuration tables at start-up
    if config_file:
        _apply(stack.db_url, config_file)
    sup.start("temporal", temporal_server.dev_server_command(
        binary, data_dir=stack.root, ports=ports, search_attributes=SEARCH_ATTRIBUTES))
    sup.start("api", app_command("api"))  # connects to Temporal lazily
    # In-process, saving a CLI start; `test_requests_without_a_key_or_with_a_revoked_key_get_401`
    # goes through `lim keys create/revoke` itself.
    stack.admin_key = _admin_key(stack.db_url)
    # The worker retries its connection for ~30 s only, so it starts once the port listens.
    sup.wait_until("Temporal's port", lambda: _listens(ports.grpc), READY_TIMEOUT_S)
    worker = sup.start("worker", app_command("worker"))
    sup.wait_until("the Temporal dev server", lambda: temporal_server.is_ready(
        binary, stack.temporal_address, "default", SEARCH_ATTRIBUTES), READY_TIMEOUT_S)
    sup.wait_until("the API", lambda: api_answers(stack.api_url), READY_TIMEOUT_S)
    sup.wait_until("the worker", lambda: _polling(worker), READY_TIMEOUT_S)


def _admin_key(db_url: str) -> str:
    from infra.db.repositories.keys import create_key

    engine = make_engine(db_url)
    try:
        return create_key(engine, "e2e-admin", "admin")[1]
    finally:
        engine.dispose()


def _apply(db_url: str, config_file: Path) -> None:
    """What `lim apply FILE` does, in-process (one CLI start saved)."""
    from infra.config.commands import apply_command

    engine = make_engine(db_url)
    try:
        apply_command(engine, config_file, "e2e")
    finally:
        engine.dispose()


def _polling(worker: Child) -> bool:
    return WORKER_READY_LINE in worker.log_path.read_text(errors="replace")


def _listens(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1.0)
        return probe.connect_ex((LOOPBACK, port)) == 0


@contextmanager
def fresh_postgres_database(server_url: str) -> Iterator[str]:
    """A new empty database on the PostgreSQL at `server_url` (dropped afterwards); yields its URL."""
    name = f"lim_e2e_{uuid.uuid4().hex[:10]}"
    admin = make_engine(server_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


async def eventually(check, timeout: float = 30.0, interval: float = 0.1):
    """Await `check()` (async, returns a truthy value when done) until it is truthy; bounded.

    Polling, not a timing assertion: the bound only stops a broken run from hanging.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout:.0f} s (last: {result!r})")
        await asyncio.sleep(interval)
