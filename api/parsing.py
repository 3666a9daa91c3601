"""Where a request body becomes routed `AlertRecord`s: in the API process, or in parser processes.

Two parsers, one contract (`Parser.parse`), and the same code does the work in both (the
sources' `parse`, then `RecordBuilder.records`):

* `InlineParser` parses on the API's event loop: PostgreSQL replicas, and tests that hand the
  app an engine.
* `ParsePool` (`api.parse_pool`) parses in child processes: the SQLite default with
  `LIM_INGEST__PARSERS` > 0. Parsing and routing were two thirds of the API process's CPU in a
  storm, on the one core its event loop can use; in children they use both.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import NamedTuple, Protocol

from api.ingest.registry import SourceRegistry
from api.intake import RecordBuilder
from infra.db.repositories import alerts as repo


class ParserUnavailable(Exception):
    """The parser process died holding this request; retrying the request helps (503)."""


class ParseFailed(Exception):
    """Parsing raised something other than a bad-request error: a bug, which the same request
    meets again (500, not retryable). Carries the parser process's message."""


class Parsed(NamedTuple):
    """The valid items as records (in request order), and one entry per refused item."""

    records: list[repo.AlertRecord]
    rejected: list[dict]

    @property
    def nothing_accepted(self) -> bool:
        """True when items were sent and every one was refused: answer 422, not 202."""
        return not self.records and bool(self.rejected)


class Parser(Protocol):
    async def start(self) -> None: ...

    async def parse(self, source: str, body: bytes, headers: Mapping[str, str], key_id: str,
                    now: datetime) -> Parsed:
        """Parse and route one request; raises `IngestError` (a 4xx) for a bad request."""
        ...

    async def close(self) -> None: ...


class InlineParser:
    def __init__(self, sources: SourceRegistry, builder: RecordBuilder) -> None:
        self._sources = sources
        self._builder = builder

    async def start(self) -> None:
        return None

    async def parse(self, source: str, body: bytes, headers: Mapping[str, str], key_id: str,
                    now: datetime) -> Parsed:
        return parse_records(self._sources, self._builder, source, body, headers, key_id, now)

    async def close(self) -> None:
        return None


def parse_records(sources: SourceRegistry, builder: RecordBuilder, source: str, body: bytes,
                  headers: Mapping[str, str], key_id: str, now: datetime) -> Parsed:
    batch = sources.source_for(source).parse(body, headers, now)
    return Parsed(builder.records(batch.alerts, key_id), [r.model_dump() for r in batch.rejected])
