"""A helper process that answers the API's requests over two pipes, without blocking its loop.

Used for the alert writer (`api.alert_writer`) and the parsers (`api.parse_pool`). The child is
a plain loop over `multiprocessing.Connection`s: it sends `("ready",)` once, then answers each
`(request_id, *message)` with `(request_id, *reply)`. On the API's side both pipes are asyncio
pipe transports, so neither a large body going out nor a large reply coming back ever blocks the
event loop (a blocking write to a full pipe stalled every request for as long as the child took
to read); messages keep `multiprocessing`'s framing (a 4-byte length, then a pickle), which is
what the child's `Connection` reads and writes.

A child that dies answers every request it held with `("died",)`; its owner decides what that
means for the request (both owners: 503, retryable) and spawns a replacement.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import multiprocessing
import os
import pickle
import struct
import time
from collections.abc import Callable
from typing import Any


class ChildProcess:
    def __init__(self, process, loop: asyncio.AbstractEventLoop,
                 on_reply: Callable[[tuple], tuple]) -> None:
        self.process = process
        self.dead = False
        self.ready: asyncio.Future = loop.create_future()
        self.waiting: dict[int, asyncio.Future] = {}  # request id → its reply
        self._on_reply = on_reply
        self._ids = itertools.count()
        self._loop = loop
        self._out: asyncio.WriteTransport | None = None
        self._in: asyncio.ReadTransport | None = None
        self._connecting: asyncio.Task | None = None

    @classmethod
    def spawn(cls, target: Callable, args: tuple, name: str,
              on_reply: Callable[[tuple], tuple] = lambda reply: reply) -> ChildProcess:
        """Start `target(requests, replies, *args)` in a new process. `on_reply` sees every
        reply on arrival, in order (for state shared with the child, such as held records)."""
        context = multiprocessing.get_context("spawn")
        their_requests, requests = context.Pipe(duplex=False)
        replies, their_replies = context.Pipe(duplex=False)
        process = context.Process(target=target, args=(their_requests, their_replies, *args),
                                  name=name, daemon=True)
        process.start()
        their_requests.close()
        their_replies.close()
        child = cls(process, asyncio.get_running_loop(), on_reply)
        child._connecting = child._loop.create_task(child._connect(requests, replies))
        return child

    async def _connect(self, requests, replies) -> None:
        # The transports take over the descriptors (and make them non-blocking).
        out_file = os.fdopen(os.dup(requests.fileno()), "wb", buffering=0)
        in_file = os.fdopen(os.dup(replies.fileno()), "rb", buffering=0)
        requests.close()
        replies.close()
        self._out, _ = await self._loop.connect_write_pipe(asyncio.BaseProtocol, out_file)
        self._in, _ = await self._loop.connect_read_pipe(
            lambda: _Frames(self._on_message, self._gone), in_file)

    @property
    def gone(self) -> bool:
        """Dead, or exited and not yet noticed (its end-of-file may still be on the way)."""
        return self.dead or not self.process.is_alive()

    async def call(self, *message) -> tuple:
        """The child's reply to `message`, or `("died",)`."""
        await self._connecting
        if self.dead:
            return ("died",)
        request_id = next(self._ids)
        reply = self.waiting[request_id] = self._loop.create_future()
        payload = pickle.dumps((request_id, *message), protocol=pickle.HIGHEST_PROTOCOL)
        self._out.write(struct.pack("!i", len(payload)) + payload)
        return await reply

    def _on_message(self, message: tuple) -> None:
        if message[0] == "ready":
            if not self.ready.done():
                self.ready.set_result(None)
            return
        request_id, *reply = message
        reply = self._on_reply(tuple(reply))
        future = self.waiting.pop(request_id, None)
        if future is not None and not future.done():
            future.set_result(reply)

    def _gone(self) -> None:
        if self.dead:
            return
        self.dead = True
        if self._out is not None:  # a child still running (we broke off) reads end-of-file
            self._out.close()
        if not self.ready.done():
            self.ready.set_exception(ChildUnavailable(f"{self.process.name} did not start"))
        for future in self.waiting.values():
            if not future.done():
                future.set_result(("died",))
        self.waiting.clear()

    async def stop(self, timeout: float = 10) -> None:
        if self._connecting is not None:
            await asyncio.gather(self._connecting, return_exceptions=True)
        if self._out is not None:
            self._out.close()  # the child reads end-of-file and returns
        await asyncio.to_thread(self.process.join, timeout)
        if self.process.is_alive():
            self.process.kill()
        if self._in is not None:
            self._in.close()
        self._gone()


class ChildUnavailable(Exception):
    """The child process died before it was ready; retrying the request helps."""


class _Frames(asyncio.Protocol):
    """Reassembles `multiprocessing.Connection` messages from a byte stream."""

    def __init__(self, on_message: Callable[[tuple], None], on_lost: Callable[[], None]) -> None:
        self._buffer = bytearray()
        self._on_message = on_message
        self._on_lost = on_lost

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        while len(buffer) >= 4:
            size, header = struct.unpack_from("!i", buffer)[0], 4
            if size == -1:  # over 2 GiB: an 8-byte length follows
                if len(buffer) < 12:
                    return
                size, header = struct.unpack_from("!Q", buffer, 4)[0], 12
            if len(buffer) < header + size:
                return
            message = pickle.loads(buffer[header:header + size])
            del buffer[:header + size]
            self._on_message(message)

    def connection_lost(self, exc: Exception | None) -> None:
        self._on_lost()


class IdleCollector:
    """Cyclic garbage collection in a child, at moments no request waits for it.

    A child's caches (the sources' memo, routes, held records) hold ~100,000 objects, so a full
    collection takes ~100 ms here, and in a storm the automatic collector ran one every few
    seconds in each parser, stalling every request the parser held: the largest part of the
    ingestion p99 once WAL checkpoints were off the writer's path (parse p99 56 → 19 ms
    without it). Parsing makes no reference cycles and storing few (~1,000 objects in a
    150,000-alert storm), so the automatic collector is off and this collects when the child
    has waited `idle` seconds for work, and after `at_most` seconds of uninterrupted work at
    the latest. `idle` is a whole second because a parser can sit idle for a quarter of one
    mid-storm (the pool gives ties to the first), and a request that arrived during its
    collection waited for it. What survives a collection is frozen (mostly the caches), so
    the next one looks only at what is newer; every `everything` seconds an idle collection
    looks at all of it again, so a cycle among once-live objects is freed too.
    """

    def __init__(self, idle: float = 1.0, at_most: float = 60.0,
                 everything: float = 600.0) -> None:
        self._idle = idle
        self._at_most = at_most
        self._everything = everything
        self._last = self._last_everything = time.monotonic()
        self._worked = False  # since the last collection
        gc.disable()

    def receive(self, conn) -> Any:
        """The next message on `conn` (a `multiprocessing.Connection`), collecting first if
        none comes within `idle` seconds or a collection is overdue."""
        overdue = time.monotonic() - self._last > self._at_most
        if self._worked and (overdue or not conn.poll(self._idle)):
            self.collect(everything=not overdue)
        message = conn.recv()
        self._worked = True
        return message

    def collect(self, everything: bool = False) -> None:
        """Collect what is newer than the last collection; with `everything`, and if it is
        time, what earlier collections froze too."""
        now = time.monotonic()
        if everything and now - self._last_everything > self._everything:
            gc.unfreeze()
            self._last_everything = now
        gc.collect()
        gc.freeze()
        self._last = time.monotonic()
        self._worked = False


def serve(requests, replies, answer: Callable[..., tuple]) -> None:
    """The child's side of `ChildProcess`: say ready, then answer each `(request_id, *message)`
    with `(request_id, *answer(*message))` until the API closes the pipe. Garbage is collected
    between requests (`IdleCollector`). What `answer` raises ends the child, and with it every
    request it held (its owner starts a new one)."""
    gc.freeze()  # what was imported lives as long as the process (see api.app)
    collector = IdleCollector()
    replies.send(("ready",))
    try:
        while True:
            request_id, *message = collector.receive(requests)
            replies.send((request_id, *answer(*message)))
    except EOFError:  # the API closed our pipe, or is gone
        pass


HELD_RECORDS = 20_000  # records the child keeps by id (~1 KB each); both sides clear together


class SentRecords:
    """The sender's view of the records (anything with an `id`, here `AlertRecord`s) its child
    holds. A record the child already has (equal, so a re-routed occurrence is sent again) goes
    out as its id: in a storm most alerts are repeats, and pickling them again was an eighth of
    the HTTP process's CPU."""

    def __init__(self) -> None:
        self._held: dict[str, Any] = {}

    def encode(self, records: list) -> tuple[bool, list]:
        """(whether the child must forget what it holds first, the group as records or ids)."""
        forget = len(self._held) >= HELD_RECORDS
        if forget:
            self._held = {}
        held = self._held
        out: list = []
        for record in records:
            previous = held.get(record.id)
            if previous is record or previous == record:  # `is`: the common, cheap case
                out.append(record.id)
            else:
                held[record.id] = record
                out.append(record)
        return forget, out


class HeldRecords:
    """The child's side of `SentRecords`: records by id, rebuilt from what arrives."""

    def __init__(self) -> None:
        self._held: dict[str, Any] = {}

    def decode(self, forget: bool, items: list) -> list:
        if forget:
            self._held = {}
        held = self._held
        records = []
        for item in items:
            if type(item) is str:
                records.append(held[item])
            else:
                held[item.id] = item
                records.append(item)
        return records
