"""Parser processes answer exactly what parsing in the API would, and survive their own death."""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import UTC, datetime

import orjson
import pytest

from api.ingest.base import IngestLimits
from api.ingest.errors import IngestError
from api.ingest.registry import build_registry
from api.intake import RecordBuilder
from api.parse_pool import ParsePool
from api.parsing import InlineParser, ParserUnavailable
from api.routing import ConfiguredRouter
from infra.db.engine import make_engine
from infra.settings import Settings

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
JSON = {"content-type": "application/json"}


def webhook(count: int, status: str = "firing") -> bytes:
    alerts = [{"status": status, "labels": {"alertname": "GPUMemoryPressure", "service": "vllm",
                                            "instance": f"gpu-{i}", "env": "prod"},
               "annotations": {"description": f"GPU {i} above 95%; page oncall@example.com"},
               "startsAt": "2026-11-23T11:59:00Z", "endsAt": "0001-01-01T00:00:00Z"}
              for i in range(count)]
    return orjson.dumps({"version": "4", "status": status, "receiver": "lim", "alerts": alerts})


@pytest.fixture
def settings(sqlite_url) -> Settings:
    return Settings(database_url=sqlite_url)


@pytest.fixture
async def pool(settings):
    parsers = ParsePool(settings, 2)
    await parsers.start()
    yield parsers
    await parsers.close()


@pytest.fixture
def inline(settings):
    engine = make_engine(settings.db_url)
    router = ConfiguredRouter(settings, engine)
    yield InlineParser(build_registry(IngestLimits()), RecordBuilder(router))
    engine.dispose()


async def test_a_parser_process_returns_what_parsing_in_the_api_returns(pool, inline):
    body = webhook(1000)  # over 64 KiB each way: neither pipe may block or split a message
    ours = await pool.parse("alertmanager", body, JSON, "key-1", NOW)
    theirs = await inline.parse("alertmanager", body, JSON, "key-1", NOW)
    assert ours == theirs and len(ours.records) == 1000
    assert "[REDACTED:email]" in orjson.loads(ours.records[0].row)["annotations"]["description"]
    # Repeats come back as ids and are rebuilt into the same records, whichever parser answers.
    again = await asyncio.gather(*(pool.parse("alertmanager", body, JSON, "key-1", NOW)
                                   for _ in range(4)))
    assert all(parsed == theirs for parsed in again)


async def test_a_bad_request_is_the_same_refusal_from_a_parser_process(pool, inline):
    for body, headers in [(b"{not json", JSON), (webhook(1), {"content-type": "text/plain"})]:
        with pytest.raises(IngestError) as ours:
            await pool.parse("alertmanager", body, headers, "k", NOW)
        with pytest.raises(IngestError) as theirs:
            await inline.parse("alertmanager", body, headers, "k", NOW)
        assert ours.value.as_json() == theirs.value.as_json()
    mixed = orjson.loads(webhook(2))
    mixed["alerts"][1]["startsAt"] = "yesterday"
    parsed = await pool.parse("alertmanager", orjson.dumps(mixed), JSON, "k", NOW)
    assert len(parsed.records) == 1 and parsed.rejected[0]["field"].startswith("alerts[1]")


async def test_a_parser_killed_with_requests_in_hand_fails_them_and_is_replaced(pool):
    await pool.parse("alertmanager", webhook(1), JSON, "k", NOW)
    victim = pool._children[0]
    os.kill(victim.process.pid, signal.SIGSTOP)  # hold it mid-request, then kill it
    in_hand = asyncio.create_task(pool.parse("alertmanager", webhook(1), JSON, "k", NOW))
    await asyncio.sleep(0.2)
    assert victim.waiting, "the request went to the stopped parser"
    os.kill(victim.process.pid, signal.SIGKILL)
    with pytest.raises(ParserUnavailable):  # 503 retryable at the route: nothing was stored
        await in_hand
    parsed = await asyncio.wait_for(
        pool.parse("alertmanager", webhook(3), JSON, "k", NOW), timeout=30)
    assert len(parsed.records) == 3


async def test_a_parse_that_raises_fails_that_request_and_the_parser_goes_on(pool):
    from api.parsing import ParseFailed

    slot = pool._children[0]
    with pytest.raises(ParseFailed, match="AttributeError"):  # None is no body: a bug's stand-in
        await pool.parse("alertmanager", None, JSON, "k", NOW)
    assert not slot.gone
    assert len((await pool.parse("alertmanager", webhook(2), JSON, "k", NOW)).records) == 2


class _FailingParser:
    """A parser that fails every request the way `raises` says (a dead or a buggy parser)."""

    def __init__(self, raises: Exception) -> None:
        self.raises = raises

    async def start(self) -> None: ...

    async def parse(self, *_):
        raise self.raises

    async def close(self) -> None: ...


async def test_the_route_says_whether_retrying_a_failed_parse_helps(api):
    from api.parsing import ParseFailed

    answers = {}
    for failure in (ParserUnavailable("died"), ParseFailed("AttributeError: bug")):
        api.app.state.lim.parser = _FailingParser(failure)
        answers[type(failure).__name__] = await api.post(
            "/api/v1/alerts/alertmanager", content=webhook(1), headers=JSON)
    died, bug = answers["ParserUnavailable"], answers["ParseFailed"]
    assert died.status_code == 503 and died.json()["retryable"] is True
    assert died.headers["retry-after"] == "1"
    assert bug.status_code == 500 and bug.json()["retryable"] is False
    assert "AttributeError" in bug.json()["error"]
