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

A child that dies fails the group in flight (its requests get 503: nothing was answered as
accepted, so senders retry) and the next group starts a new child.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import signal
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
    """The group commit in a child process. The intake has one group in flight at a time; it
    goes out and its answer comes back over a pipe that the event loop watches, with no helper
    threads: a thread would wait for the interpreter lock while the HTTP side parses (measured:
    a process pool's two hand-over threads added a wait per group)."""

    def __init__(self, db_url: str, refresh_after: timedelta) -> None:
        self._args = (db_url, refresh_after)
        self._child: _Child | None = None

    async def start(self) -> None:
        self._child = _Child.spawn(self._args)
        await self._child.ready

    async def store(self, records: list[repo.AlertRecord], now: datetime) -> int:
        if self._child is None or self._child.dead:  # died while idle: nothing was in flight
            log.error("the alert writer process is gone; starting a new one")
            self._child = _Child.spawn(self._args)
        child = self._child
        await child.ready
        kind, value = await child.call((records, now))
        if kind == "ok":
            return value
        if kind == "error":
            raise StoreFailed(value)
        raise WriterUnavailable("the alert writer process died with this group; retry")

    async def close(self) -> None:
        if self._child is not None:
            await self._child.stop()


class StoreFailed(Exception):
    """The database refused the group (the writer process's message); retrying may help."""


class _Child:
    """One writer process and our ends of its two pipes (groups out, replies in)."""

    def __init__(self, process, requests, replies, loop: asyncio.AbstractEventLoop) -> None:
        self.process = process
        self.dead = False
        self.ready: asyncio.Future = loop.create_future()
        self._requests = requests
        self._replies = replies
        self._loop = loop
        self._reply: asyncio.Future | None = None
        loop.add_reader(replies.fileno(), self._on_message)

    @classmethod
    def spawn(cls, args: tuple) -> _Child:
        # One pipe each way: the loop watches (and so makes non-blocking) only the replies,
        # which are small enough to arrive whole; groups are written to a blocking pipe.
        context = multiprocessing.get_context("spawn")
        their_requests, requests = context.Pipe(duplex=False)
        replies, their_replies = context.Pipe(duplex=False)
        process = context.Process(target=_child_main, args=(their_requests, their_replies, *args),
                                  name="lim-alert-writer", daemon=True)
        process.start()
        their_requests.close()
        their_replies.close()
        return cls(process, requests, replies, asyncio.get_running_loop())

    async def call(self, payload: tuple) -> tuple[str, object]:
        self._reply = self._loop.create_future()
        try:
            self._requests.send(payload)
        except OSError:  # the pipe broke: the process is gone
            self._gone()
            return "died", None
        return await self._reply

    def _on_message(self) -> None:
        try:
            kind, value = self._replies.recv()
        except BlockingIOError:  # woken with nothing to read
            return
        except (EOFError, OSError):
            kind, value = "died", None
            self._gone()
        if kind == "ready":
            self.ready.set_result(None)
        elif not self.ready.done():
            self.ready.set_exception(WriterUnavailable("the alert writer process did not start"))
        if kind != "ready" and self._reply is not None and not self._reply.done():
            self._reply.set_result((kind, value))

    def _gone(self) -> None:
        if not self.dead:
            self.dead = True
            self._loop.remove_reader(self._replies.fileno())

    async def stop(self) -> None:
        if not self.dead:
            try:
                self._requests.send(None)
            except OSError:
                pass
            self._gone()
        await asyncio.to_thread(self.process.join, 10)
        if self.process.is_alive():
            self.process.kill()
        self._requests.close()
        self._replies.close()


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
    engine = make_engine(db_url)
    known = repo.KnownAlerts()
    gc.freeze()  # what was imported lives as long as the process (see api.app)
    replies.send(("ready", None))
    try:
        while (message := requests.recv()) is not None:
            records, now = message
            try:
                replies.send(("ok", repo.store(engine, records, now, refresh_after, known)))
            except Exception as err:  # boundary: the parent fails the group
                log.exception("storing %d alerts failed", len(records))
                # Short: a reply must fit one atomic pipe write (see _Child.spawn).
                replies.send(("error", f"{type(err).__name__}: {err}"[:1000]))
    except EOFError:  # the API process is gone
        pass
    finally:
        engine.dispose()
