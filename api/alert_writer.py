"""Where the group commit runs: a thread of the API, or a child process of its own.

`AlertIntake` hands every group of accepted alerts to a writer's `store`. Two writers, one
contract (`repo.store` does the work in both, so what is stored is the same):

* `ThreadWriter` runs it on a thread of the API process: PostgreSQL, where replicas scale the
  API out, and tests that hand the app an engine.
* `ProcessWriter` runs it in one child process (`api.child_process`): the SQLite default.
  Storing costs about as much CPU as receiving and parsing (~45 µs per alert each, measured on
  the storm), and one process shares one interpreter lock, so on a thread the writer and the
  HTTP side queued for each other. Groups travel as `AlertRecord` tuples (~1 µs per alert to
  pickle; the Alert models cost ~24 µs), and a record the child already holds travels as its id
  alone (`SentRecords`): in a storm most alerts are repeats. Being SQLite's only writer, the
  child also keeps each identity's state (`repo.IdentityCache`).

A child that dies fails the group in flight (its requests get 503: nothing was answered as
accepted, so senders retry) and the next group starts a new child.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.engine import Engine

from api.child_process import ChildProcess, ChildUnavailable, HeldRecords, SentRecords, serve
from infra.db.engine import is_sqlite, make_priority_writer_engine
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
    """The group commit in a child process (`api.child_process`). The intake has one group in
    flight at a time."""

    def __init__(self, db_url: str, refresh_after: timedelta) -> None:
        self._args = (db_url, refresh_after)
        self._child: ChildProcess | None = None
        self._sent = SentRecords()

    async def start(self) -> None:
        self._spawn()
        await self._child.ready

    def _spawn(self) -> None:
        self._child = ChildProcess.spawn(_child_main, self._args, "lim-alert-writer")
        self._sent = SentRecords()  # a new child holds nothing

    async def store(self, records: list[repo.AlertRecord], now: datetime) -> int:
        if self._child is None or self._child.gone:  # died while idle: nothing was in flight
            log.error("the alert writer process is gone; starting a new one")
            self._spawn()
        child = self._child
        try:
            await child.ready
        except ChildUnavailable as err:
            raise WriterUnavailable(str(err)) from None
        kind, *value = await child.call(*self._sent.encode(records), now)
        if kind == "ok":
            return value[0]
        if kind == "error":
            raise StoreFailed(value[0])
        raise WriterUnavailable("the alert writer process died with this group; retry")

    async def close(self) -> None:
        if self._child is not None:
            await self._child.stop()


class StoreFailed(Exception):
    """The database refused the group (the writer process's message); retrying may help."""


def build_writer(db_url: str, engine: Engine, refresh_after: timedelta, mode: str,
                 engine_injected: bool) -> AlertWriter:
    """`mode`: thread | process | auto (process for a SQLite file the API opened itself)."""
    sqlite_file = db_url.startswith("sqlite") and ":memory:" not in db_url
    if mode == "process" or (mode == "auto" and sqlite_file and not engine_injected):
        return ProcessWriter(db_url, refresh_after)
    return ThreadWriter(engine, refresh_after)


# ---- in the child ----------------------------------------------------------------------------

def _child_main(requests, replies, db_url: str, refresh_after: timedelta) -> None:
    # Ctrl-C reaches the whole process group; the parent decides when the writer stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    engine = make_priority_writer_engine(db_url)
    known = repo.KnownAlerts()
    # This child is the API's only writer; on SQLite that makes it the database's only one.
    identities = repo.IdentityCache() if is_sqlite(engine) else repo.IdentityCache(size=0)
    held = HeldRecords()

    def store(forget: bool, items: list, now: datetime) -> tuple:
        # Outside the try: a group it cannot decode means the two sides disagree about what it
        # holds, and the cure is what dying brings (a new child, both sides empty).
        records = held.decode(forget, items)
        try:
            return "ok", repo.store(engine, records, now, refresh_after, known, identities)
        except Exception as err:  # boundary: the parent fails the group
            log.exception("storing %d alerts failed", len(records))
            return "error", f"{type(err).__name__}: {err}"[:1000]

    try:
        serve(requests, replies, store)
    finally:
        engine.dispose()
