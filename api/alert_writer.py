"""Where the group commit runs: a thread of the API, or a child process of its own.

`AlertIntake` hands every group of accepted alerts to a writer's `store`. Two writers, one
contract (`repo.store` does the work in both, so what is stored is the same):

* `ThreadWriter` runs it on a thread of the API process: PostgreSQL, where replicas scale the
  API out, and tests that hand the app an engine.
* `ProcessWriter` runs it in one child process: the SQLite default. Storing costs about as much
  CPU as receiving and parsing (~45 µs per alert each, measured on the storm), and one process
  shares one interpreter lock, so on a thread the writer and the HTTP side queued for each
  other. A child gives the writer the second core. Groups travel as `AlertRecord` tuples
  (~1 µs per alert to pickle; the Alert models cost ~24 µs).

A child that dies fails the groups in flight (their requests get 503: nothing was answered as
accepted, so senders retry) and the next group starts a new child.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import signal
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.engine import Engine

from infra.db.engine import make_engine
from infra.db.repositories import alerts as repo

log = logging.getLogger(__name__)


class WriterUnavailable(Exception):
    """The writer process died with this group in flight; retrying the request helps."""


class AlertWriter(Protocol):
    async def start(self) -> None:
        """Be ready to store (the API serves nothing before this returns)."""
        ...

    async def store(self, records: list[repo.AlertRecord], now: datetime) -> int:
        """Store one group in one transaction; returns outbox rows written. Raises if not stored."""
        ...

    async def close(self) -> None: ...


class ThreadWriter:
    def __init__(self, engine: Engine, refresh_after: timedelta) -> None:
        self._engine = engine
        self._refresh_after = refresh_after
        self._known = repo.KnownAlerts()

    async def start(self) -> None:
        return None

    async def store(self, records: list[repo.AlertRecord], now: datetime) -> int:
        return await asyncio.to_thread(repo.store, self._engine, records, now,
                                       self._refresh_after, self._known)

    async def close(self) -> None:
        return None


class ProcessWriter:
    def __init__(self, db_url: str, refresh_after: timedelta) -> None:
        self._args = (db_url, refresh_after)
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_child_start, initargs=self._args)
        self._ready = pool.submit(_child_ready)  # start it now: importing takes ~1 s
        return pool

    async def start(self) -> None:
        await asyncio.wrap_future(self._ready)

    async def store(self, records: list[repo.AlertRecord], now: datetime) -> int:
        pool = self._pool
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, _child_store, records,
                                                                    now)
        except BrokenProcessPool:
            if pool is self._pool:
                log.error("the alert writer process died; starting a new one")
                self._pool = self._new_pool()
            raise WriterUnavailable("the alert writer process restarted; retry") from None

    async def close(self) -> None:
        await asyncio.to_thread(self._pool.shutdown, wait=True)


def build_writer(db_url: str, engine: Engine, refresh_after: timedelta, mode: str,
                 engine_injected: bool) -> AlertWriter:
    """`mode`: thread | process | auto (process for a SQLite file the API opened itself)."""
    sqlite_file = db_url.startswith("sqlite") and ":memory:" not in db_url
    if mode == "process" or (mode == "auto" and sqlite_file and not engine_injected):
        return ProcessWriter(db_url, refresh_after)
    return ThreadWriter(engine, refresh_after)


# ---- in the child ----------------------------------------------------------------------------

_child: dict = {}


def _child_start(db_url: str, refresh_after: timedelta) -> None:
    # Ctrl-C reaches the whole process group; the parent decides when the writer stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _child.update(engine=make_engine(db_url), refresh_after=refresh_after,
                  known=repo.KnownAlerts())
    gc.freeze()  # what was imported lives as long as the process (see api.app)


def _child_ready() -> bool:
    return True


def _child_store(records: list[repo.AlertRecord], now: datetime) -> int:
    return repo.store(_child["engine"], records, now, _child["refresh_after"], _child["known"])
