"""Parsing and routing in child processes, so that a storm's CPU spreads over every core.

The API process keeps HTTP, authentication and the group commit's hand-off; each request body
goes to the parser process with the fewest requests in hand, which parses it with the same
sources and `RecordBuilder` the API would use and sends back its records. Records a parser has
already sent come back as their id alone (`SentRecords`, as towards the writer).

Each parser is an `api.child_process.ChildProcess`: a plain loop over two pipes that never block
the API's event loop. A parser refreshes the routing configuration itself, as often as the API
does.

A parser that dies fails the requests it held (503, retryable: nothing was stored) and is
replaced at the next request. A body that makes parsing raise is a 500 for that request only.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Mapping
from datetime import datetime

from api.child_process import (
    ChildProcess,
    ChildUnavailable,
    HeldRecords,
    SentRecords,
    serve,
)
from api.ingest.errors import IngestError
from api.ingest.registry import registry_for
from api.intake import RecordBuilder
from api.parsing import Parsed, ParseFailed, ParserUnavailable, parse_records
from api.routing import REFRESH_SECONDS, ConfiguredRouter
from infra.db.engine import make_engine
from infra.settings import Settings

log = logging.getLogger(__name__)


class ParsePool:
    def __init__(self, settings: Settings, size: int) -> None:
        self._settings = settings
        self._children: list[ChildProcess | None] = [None] * size

    async def start(self) -> None:
        for slot in range(len(self._children)):
            self._spawn(slot)
        await asyncio.gather(*(child.ready for child in self._children))

    def _spawn(self, slot: int) -> ChildProcess:
        held = HeldRecords()  # a new parser has sent nothing

        def on_reply(reply: tuple) -> tuple:
            if reply[0] != "ok":
                return reply
            _, forget, items, rejected = reply
            return "ok", held.decode(forget, items), rejected

        child = self._children[slot] = ChildProcess.spawn(
            _parser_main, (self._settings,), f"lim-parser-{slot}", on_reply)
        return child

    async def parse(self, source: str, body: bytes, headers: Mapping[str, str], key_id: str,
                    now: datetime) -> Parsed:
        slot = min(range(len(self._children)), key=self._load)
        child = self._children[slot]
        if child is None or child.gone:
            log.error("parser process %d is gone; starting a new one", slot)
            child = self._spawn(slot)
        try:
            await child.ready
        except ChildUnavailable as err:
            raise ParserUnavailable(str(err)) from None
        kind, *value = await child.call(source, body, dict(headers), key_id, now)
        if kind == "ok":
            return Parsed(*value)
        if kind == "refused":
            raise IngestError(*value)
        if kind == "failed":
            raise ParseFailed(value[0])
        raise ParserUnavailable("the parser process died with this request; retry")

    def _load(self, slot: int) -> int:
        """Requests in hand; a dead or missing parser counts as idle (it is replaced). `dead`,
        not `gone`: no process check per parser per request (the chosen one is checked)."""
        child = self._children[slot]
        return -1 if child is None or child.dead else len(child.waiting)

    async def close(self) -> None:
        await asyncio.gather(*(child.stop() for child in self._children if child is not None))


# ---- in the child ----------------------------------------------------------------------------

def _parser_main(requests, replies, settings: Settings) -> None:
    # Ctrl-C reaches the whole process group; the parent decides when parsers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    engine = make_engine(settings.db_url)
    router = ConfiguredRouter(settings, engine)
    sources = registry_for(settings.ingest)
    builder = RecordBuilder(router)
    sent = SentRecords()
    refreshed = _refresh(router, 0.0)

    def answer(*message) -> tuple:
        nonlocal refreshed
        refreshed = _refresh(router, refreshed)
        return _parse(sources, builder, sent, *message)

    try:
        serve(requests, replies, answer)
    finally:
        engine.dispose()


def _parse(sources, builder: RecordBuilder, sent: SentRecords, source: str, body: bytes,
           headers: dict, key_id: str, now: datetime) -> tuple:
    try:
        parsed = parse_records(sources, builder, source, body, headers, key_id, now)
    except IngestError as err:
        return "refused", err.status_code, err.reason, err.field
    except Exception as err:  # boundary: this request fails, the parser goes on
        log.exception("parsing a %s request failed", source)
        return "failed", f"{type(err).__name__}: {err}"[:1000]
    return "ok", *sent.encode(parsed.records), parsed.rejected


def _refresh(router: ConfiguredRouter, last: float) -> float:
    """Re-read the routing configuration when it is older than the API's refresh interval."""
    now = time.monotonic()
    if now - last < REFRESH_SECONDS:
        return last
    router.refresh_or_keep()
    return now
