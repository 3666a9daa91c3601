"""Bad input over HTTP, for every ingestion endpoint, through the whole app (real lifespan, real DB).

Each endpoint is described once (how to build a valid body, a bad item, a bad envelope); every
test runs over all of them. Limits come from the environment the way an operator sets them
(`LIM_INGEST__MAX_BODY_BYTES`, `LIM_INGEST__MAX_BATCH_ALERTS`). Ingestion needs no Temporal:
the outbox dispatcher retries in the background against an address where nothing listens.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from infra.db.engine import make_engine
from tests.api.conftest import make_settings, running_api
from tests.e2e.alerts import am_alert, am_webhook

MAX_BODY = 8192
MAX_ALERTS = 5
JSON = {"content-type": "application/json"}
GRAFANA_SAMPLE = Path(__file__).parents[1] / "fixtures" / "payloads" / "grafana_11_firing.json"


# ---- the endpoints, described once ------------------------------------------------------------


def _grafana(*alerts: dict) -> dict:
    sample = json.loads(GRAFANA_SAMPLE.read_text())
    template = sample["alerts"][0]
    return {**sample, "alerts": [{**template, **a} for a in alerts]}


def _ce_event(tag: str, i: int) -> dict:
    return {"specversion": "1.0", "id": f"{tag}-{i}", "source": "//tests/http",
            "type": "com.example.alert.firing",
            "data": {"title": f"Drift{tag}", "service": tag, "env": "prod", "labels": {"i": str(i)}}}


def _generic(tag: str, i: int) -> dict:
    # No starts_at on purpose: only an Idempotency-Key keeps a retry from being stored twice.
    return {"title": f"Backup{tag}", "service": tag, "env": "prod", "labels": {"i": str(i)}}


BAD_LABELS = {"labels": {"alertname": "X", "replicas": 3}}  # label values must be strings


@dataclass(frozen=True)
class Endpoint:
    """How to talk to one ingestion endpoint: `valid(tag, n)` builds a body of n good alerts,
    `mixed(tag)` a 3-item batch whose item 1 is bad at `bad_field`; `bad_envelope` is a body
    whose envelope is wrong at `envelope_field`."""

    name: str
    path: str
    valid: Callable[[str, int], object]
    bad_envelope: object
    envelope_field: str
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON))
    mixed: Callable[[str], object] | None = None
    bad_field: str = ""

    def headers_for(self, tag: str) -> dict[str, str]:
        return {k: v.replace("{tag}", tag) for k, v in self.headers.items()}


def _am_valid(tag: str, n: int) -> dict:
    return am_webhook(*(am_alert(f"A{tag}", tag, instance=f"10.0.0.{i}:9100") for i in range(n)))


def _am_mixed(tag: str) -> dict:
    good = [am_alert(f"A{tag}", tag, instance=f"10.0.0.{i}:9100") for i in (0, 2)]
    return am_webhook(good[0], {**good[1], **BAD_LABELS}, good[1])


def _grafana_valid(tag: str, n: int) -> dict:
    return _grafana(*({"labels": {"alertname": f"G{tag}", "service": tag, "gpu": str(i)}}
                      for i in range(n)))


def _grafana_mixed(tag: str) -> dict:
    return _grafana({"labels": {"alertname": f"G{tag}", "gpu": "0"}}, BAD_LABELS,
                    {"labels": {"alertname": f"G{tag}", "gpu": "2"}})


ENDPOINTS = [
    Endpoint("alertmanager", "/api/v1/alerts/alertmanager", _am_valid,
             bad_envelope={**_am_valid("x", 1), "alerts": "not a list"}, envelope_field="alerts",
             mixed=_am_mixed, bad_field="alerts[1].labels.replicas"),
    Endpoint("grafana", "/api/v1/alerts/grafana", _grafana_valid,
             bad_envelope={**_grafana_valid("x", 1), "alerts": "not a list"}, envelope_field="alerts",
             mixed=_grafana_mixed, bad_field="alerts[1].labels.replicas"),
    Endpoint("cloudevents-structured", "/api/v1/alerts/cloudevents",
             lambda tag, n: _ce_event(tag, 0),
             bad_envelope={"specversion": "1.0", "source": "//x", "type": "t", "data": {}},
             envelope_field="id", headers={"content-type": "application/cloudevents+json"}),
    Endpoint("cloudevents-batched", "/api/v1/alerts/cloudevents",
             lambda tag, n: [_ce_event(tag, i) for i in range(n)],
             bad_envelope={"specversion": "1.0"}, envelope_field="body",
             headers={"content-type": "application/cloudevents-batch+json"},
             mixed=lambda tag: [_ce_event(tag, 0), {**_ce_event(tag, 1), "id": None}, _ce_event(tag, 2)],
             bad_field="[1].id"),
    Endpoint("cloudevents-binary", "/api/v1/alerts/cloudevents",
             lambda tag, n: _ce_event(tag, 0)["data"],
             bad_envelope={"title": 5}, envelope_field="data.title",
             headers={**JSON, "ce-specversion": "1.0", "ce-id": "{tag}", "ce-source": "//tests/http",
                      "ce-type": "com.example.alert.firing"}),
    Endpoint("generic", "/api/v1/alerts", lambda tag, n: [_generic(tag, i) for i in range(n)],
             bad_envelope={"title": 5}, envelope_field="title",
             mixed=lambda tag: [_generic(tag, 0), {**_generic(tag, 1), "severty": "high"},
                                _generic(tag, 2)],
             bad_field="[1].severty"),
]
BATCHES = [e for e in ENDPOINTS if e.mixed is not None]
by_name = pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
batches_by_name = pytest.mark.parametrize("endpoint", BATCHES, ids=lambda e: e.name)


def tag() -> str:
    return f"t{uuid.uuid4().hex[:8]}"


# ---- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def small_limits(monkeypatch):
    """The limits an operator would set, read by `Settings` from the environment."""
    monkeypatch.setenv("LIM_INGEST__MAX_BODY_BYTES", str(MAX_BODY))
    monkeypatch.setenv("LIM_INGEST__MAX_BATCH_ALERTS", str(MAX_ALERTS))


@pytest.fixture
async def http(tmp_path, api_engine, small_limits):
    settings = make_settings(tmp_path)
    assert settings.ingest.max_body_bytes == MAX_BODY
    async with running_api(settings, api_engine) as client:
        yield client


async def post(http, endpoint: Endpoint, body: object, t: str, headers: dict | None = None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await http.post(endpoint.path, content=raw,
                           headers={**endpoint.headers_for(t), **(headers or {})})


async def stored(http, ids: list[str]) -> list[str]:
    answer = await http.post("/api/v1/alerts/lookup", json={"ids": ids})
    assert answer.status_code == 200, answer.text
    return answer.json()["found"]


async def received(http) -> int:
    return (await http.get("/api/v1/stats/ingest")).json()["alerts_received"]


def refused(answer, status: int, field_name: str) -> dict:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["field"] == field_name and body["retryable"] is False, body
    return body


# ---- the tests ----------------------------------------------------------------------------------


@by_name
async def test_malformed_json_is_refused_with_400_naming_line_and_column(http, endpoint):
    answer = await post(http, endpoint, b'{\n  "alerts": [1, }', tag())
    body = refused(answer, 400, "body")
    assert "line 2, column" in body["error"]
    assert await received(http) == 0


@by_name
async def test_a_wrong_schema_is_refused_with_422_naming_the_field(http, endpoint):
    answer = await post(http, endpoint, endpoint.bad_envelope, tag())
    refused(answer, 422, endpoint.envelope_field)
    assert await received(http) == 0


async def test_a_binary_cloudevent_without_its_id_header_is_refused_with_422_naming_it(http):
    answer = await http.post("/api/v1/alerts/cloudevents", json={"title": "x"}, headers={
        "ce-specversion": "1.0", "ce-source": "//tests/http", "ce-type": "com.example.alert.firing"})
    refused(answer, 422, "ce-id")


@by_name
async def test_a_wrong_content_type_is_refused_with_415(http, endpoint):
    t = tag()
    answer = await post(http, endpoint, endpoint.valid(t, 1), t,
                        headers={"content-type": "application/x-www-form-urlencoded"})
    body = refused(answer, 415, "content-type")
    assert "x-www-form-urlencoded" in body["error"]


@by_name
async def test_a_body_over_the_limit_is_refused_with_413(http, endpoint):
    t = tag()
    padded = json.dumps(endpoint.valid(t, 1)).encode()
    padded = padded + b" " * (MAX_BODY + 1 - len(padded))  # valid JSON, one byte too long
    body = refused(await post(http, endpoint, padded, t), 413, "body")
    assert str(MAX_BODY) in body["error"]


async def test_a_streamed_body_without_length_over_the_limit_is_refused_with_413(http):
    async def chunks():
        yield b'{"title": "x", "description": "'
        for _ in range(MAX_BODY // 1024 + 1):
            yield b"x" * 1024
        yield b'"}'

    answer = await http.post("/api/v1/alerts", content=chunks(), headers=JSON)
    refused(answer, 413, "body")


@batches_by_name
async def test_too_many_alerts_in_one_request_are_refused_with_413(http, endpoint):
    t = tag()
    body = refused(await post(http, endpoint, endpoint.valid(t, MAX_ALERTS + 1), t), 413,
                   "body" if endpoint.name in ("generic", "cloudevents-batched") else "alerts")
    assert f"{MAX_ALERTS + 1} alerts" in body["error"]
    assert await received(http) == 0


@batches_by_name
async def test_a_mixed_batch_stores_the_valid_alerts_and_reports_the_invalid_by_index(http, endpoint):
    t = tag()
    answer = await post(http, endpoint, endpoint.mixed(t), t)
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert len(body["accepted"]) == 2
    assert [(r["index"], r["field"]) for r in body["rejected"]] == [(1, endpoint.bad_field)]
    assert await stored(http, body["accepted"]) == body["accepted"]


@batches_by_name
async def test_a_batch_where_every_item_is_bad_is_422_and_stores_nothing(http, endpoint):
    t = tag()
    all_bad = endpoint.mixed(t)
    items = all_bad["alerts"] if isinstance(all_bad, dict) else all_bad
    bad_item = items[1]
    items[:] = [bad_item, bad_item]
    answer = await post(http, endpoint, all_bad, t)
    assert answer.status_code == 422, answer.text
    assert [r["index"] for r in answer.json()["rejected"]] == [0, 1]
    assert await received(http) == 0


@by_name
async def test_a_repeat_with_the_same_idempotency_key_gets_the_same_answer_and_stores_once(
        http, endpoint):
    t = tag()
    body = endpoint.valid(t, 2)
    key = {"idempotency-key": f"retry-{t}"}
    first = await post(http, endpoint, body, t, key)
    again = await post(http, endpoint, body, t, key)
    assert first.status_code == again.status_code == 202, again.text
    assert again.json() == first.json() and again.headers.get("idempotent-replayed") == "true"
    ids = first.json()["accepted"]
    assert await received(http) == len(ids)
    for alert_id in ids:
        assert (await http.get(f"/api/v1/alerts/{alert_id}")).json()["occurrences"] == 1


async def test_nothing_already_accepted_is_lost_when_bad_requests_follow(tmp_path, db_url, small_limits):
    """On SQLite and PostgreSQL: good requests to every endpoint, each followed by every kind of
    bad one; afterwards every accepted id is stored and the counter matches exactly."""
    engine = make_engine(db_url)
    accepted: list[str] = []
    try:
        async with running_api(make_settings(tmp_path, database_url=db_url), engine) as http:
            for endpoint in ENDPOINTS:
                t = tag()
                good = await post(http, endpoint, endpoint.valid(t, 2), t)
                assert good.status_code == 202, good.text
                accepted += good.json()["accepted"]
                for bad, status in ((b"{", 400), (endpoint.bad_envelope, 422),
                                    (b" " * (MAX_BODY + 1), 413)):
                    assert (await post(http, endpoint, bad, t)).status_code == status
            assert await stored(http, accepted) == accepted
            assert await received(http) == len(accepted)
    finally:
        engine.dispose()
