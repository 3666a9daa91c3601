"""The whole API app on a real, migrated SQLite database, driven in-process over ASGI.

`api_factory` builds `create_app(settings, engine=..., client=...)`, runs its lifespan (the
intake writer, outbox dispatcher and config refresher really run) and hands back an httpx
client carrying an admin key. Temporal tests share ONE session worker on the product task
queue (the dispatcher starts incidents there) on the session time-skipping environment.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from temporalio.service import RPCError, RPCStatusCode

from api.app import create_app
from infra.db.engine import make_engine
from infra.db.migrate import upgrade
from infra.db.repositories.keys import create_key
from infra.settings import Settings
from infra.temporal import register_search_attributes
from worker.wiring import Dependencies, build_worker
from workflows.side_effects import TASK_QUEUE

# Nothing listens here: API tests without Temporal must never reach a real server by accident.
NO_TEMPORAL = "127.0.0.1:1"
BASE_URL = "http://lim.test"


def make_settings(tmp_path, **overrides) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, temporal_address=NO_TEMPORAL, **overrides)


@asynccontextmanager
async def running_api(settings: Settings, engine, client=None) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan entered; the yielded client sends an admin key.

    `.app` is the FastAPI app, `.ingest_key` an ingest-scoped secret for the same database.
    """
    app = create_app(settings, engine=engine, client=client)
    _, admin = create_key(engine, "test-admin", "admin")
    _, ingest = create_key(engine, "test-ci", "ingest")
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL,
                                     headers={"Authorization": f"Bearer {admin}"}) as http:
            http.app = app
            http.ingest_key = ingest
            yield http


@pytest.fixture
def api_engine(tmp_path):
    url = f"sqlite:///{tmp_path}/api.db"
    upgrade(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
async def api(tmp_path, api_engine) -> AsyncIterator[httpx.AsyncClient]:
    """The API without Temporal (config, schedules, analysis, read-model routes)."""
    async with running_api(make_settings(tmp_path), api_engine) as http:
        yield http


# ---- Temporal: one session worker projecting into one session database ------------------------


@pytest.fixture(scope="session")
def shared_engine(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('api-temporal')}/lim.db"
    upgrade(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
async def incident_worker(temporal_env, shared_engine):
    """The product's worker on the product task queue, for the whole session."""
    try:
        await register_search_attributes(temporal_env.client)
    except RPCError as err:  # another test package registered them on this server already
        if err.status is not RPCStatusCode.ALREADY_EXISTS:
            raise
    from activities.llm.fallback import build_analyzer
    from infra.settings.ai import AiSettings
    from worker.wiring import analysis_activities

    # Every activity the workflow may call must be registered, or its step retries forever.
    analysis = analysis_activities(shared_engine, build_analyzer(AiSettings()))
    deps = Dependencies(engine=shared_engine, extra_activities=analysis)
    async with build_worker(temporal_env.client, deps, task_queue=TASK_QUEUE):
        yield temporal_env


@pytest.fixture
def temporal_api_factory(tmp_path, incident_worker, shared_engine
                         ) -> Callable[..., AsyncIterator[httpx.AsyncClient]]:
    """`async with temporal_api_factory(**settings) as http:` an API wired to the worker."""

    def factory(**overrides):
        return running_api(make_settings(tmp_path, **overrides), shared_engine,
                           incident_worker.client)

    return factory


@pytest.fixture
def open_incident(shared_engine):
    """`await open_incident(http, title)`: ingest a generic alert, wait for its incident row."""
    from infra.db.repositories import incidents as repo
    from tests.workflows.helpers import eventually

    async def open_(http: httpx.AsyncClient, title: str, severity: str = "high") -> dict:
        # A service of its own: tests share one database and worker, and correlation would
        # rightly MERGE "Checkout latency 1a2b" into another test's open "Checkout latency 3c4d".
        service = f"checkout-{uuid.uuid4().hex[:8]}"
        r = await http.post("/api/v1/alerts", json={"title": title, "severity": severity,
                                                    "service": service, "env": "prod"},
                            headers={"Authorization": f"Bearer {http.ingest_key}"})
        assert r.status_code == 202, r.text

        def found():
            rows, _ = repo.list_incidents(shared_engine, {"service": [service]}, 500, 0)
            return next((row for row in rows if row["title"] == title), None)

        return await eventually(found, timeout=60)  # a loaded 2-core box: be patient

    return open_
