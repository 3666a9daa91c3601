"""What the API holds for its lifetime, built once from `Settings` in the lifespan."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from fastapi import Request
from sqlalchemy.engine import Engine
from temporalio.client import Client

from api.auth import KeyCache
from api.ingest.registry import SourceRegistry, registry_for
from api.intake import AlertIntake
from api.parsing import Parser
from infra.settings import Settings
from infra.temporal import connect

log = logging.getLogger(__name__)
T = TypeVar("T")


class TemporalLink:
    """One shared client, connected lazily so the API starts (and says not ready) without Temporal."""

    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        self._settings = settings
        self._client = client
        self._lock = asyncio.Lock()

    async def client(self) -> Client:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    self._client = await asyncio.wait_for(
                        connect(self._settings.temporal_address, self._settings.temporal_namespace),
                        timeout=5)
        return self._client


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    temporal: TemporalLink
    intake: AlertIntake
    parser: Parser | None = None
    sources: SourceRegistry = field(init=False)
    keys: KeyCache = field(default_factory=KeyCache)
    dispatcher: object | None = None
    background: list[asyncio.Task] = field(default_factory=list)
    router: object | None = None
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.sources = registry_for(self.settings.ingest)


def built_once(request: Request, name: str, build: Callable[[], T]) -> T:
    """`build()` the first time `name` is asked for on this app; the same object afterwards.

    For per-app helpers that are cheap to build but need the app's settings (question parser,
    evidence gathering): built at first use rather than at start-up nobody may need them.
    """
    app_state = request.app.state
    value = getattr(app_state, name, None)
    if value is None:
        value = build()
        setattr(app_state, name, value)
    return value
