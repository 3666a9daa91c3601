"""Alert ingestion: parse, store durably, answer 202 with what was stored.

Batches get per-item results: valid items are stored and their ids returned in `accepted`,
invalid ones are listed in `rejected` with their index and field; a request where every item
is invalid answers 422. A repeated request (same `Idempotency-Key`, or same alert identity and
timestamps) stores nothing twice and gets the same ids back.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from api.auth import require
from api.ingest.errors import IngestError, ensure_body_within
from api.parsing import ParseFailed, ParserUnavailable
from infra.db.repositories import alerts as repo
from workflows.domain.base import Actor

router = APIRouter(prefix="/api/v1", tags=["ingestion"])


class LookupRequest(BaseModel):
    ids: list[str]


@router.post("/alerts/lookup", summary="Which of these alert ids are stored")
async def lookup(body: LookupRequest, request: Request, _: Actor = Depends(require("ingest"))):
    found = await asyncio.to_thread(repo.lookup, request.app.state.lim.engine, body.ids)
    return {"found": [i for i in body.ids if i in found],
            "missing": [i for i in body.ids if i not in found]}


@router.post("/alerts/{source}", status_code=202, summary="Ingest alerts from a named source",
             description="Sources: `alertmanager` (webhook v4), `cloudevents` (structured, batched, "
                         "binary), `grafana` (unified alerting webhook), `generic`.")
async def ingest_from(source: str, request: Request, actor: Actor = Depends(require("ingest"))):
    return await _ingest(source, request, actor)


@router.post("/alerts", status_code=202, summary="Ingest generic JSON alerts (one or a list)")
async def ingest_generic(request: Request, actor: Actor = Depends(require("ingest"))):
    return await _ingest("generic", request, actor)


async def _ingest(source: str, request: Request, actor: Actor) -> JSONResponse:
    state = request.app.state.lim
    try:
        state.sources.source_for(source)  # an unknown source is refused before reading
        limit = state.settings.ingest.max_body_bytes
        ensure_body_within(int(request.headers.get("content-length") or 0), limit)
        body = await request.body()
        ensure_body_within(len(body), limit)
    except IngestError as err:
        return JSONResponse(err.as_json(), status_code=err.status_code)
    idem = request.headers.get("idempotency-key", "").strip()
    idem_key = f"{actor.id}:{source}:{idem}" if idem else ""
    if idem_key:
        previous = await asyncio.to_thread(repo.remembered_response, state.engine, idem_key)
        if previous is not None:
            return JSONResponse(previous, status_code=202, headers={"Idempotent-Replayed": "true"})
    now = datetime.now(UTC)
    try:
        parsed = await state.parser.parse(source, body, request.headers, actor.id, now)
    except IngestError as err:
        return JSONResponse(err.as_json(), status_code=err.status_code)
    except ParserUnavailable as err:  # nothing was stored
        return _not_stored(err)
    except ParseFailed as err:
        return JSONResponse({"error": f"parsing failed: {err}", "retryable": False},
                            status_code=500)
    if parsed.nothing_accepted:
        return JSONResponse({"error": "no valid alert in the request", "accepted": [],
                             "rejected": parsed.rejected, "retryable": False}, status_code=422)
    try:
        await state.intake.store(parsed.records)
    except Exception as err:  # noqa: BLE001 - boundary: nothing was stored, so say retry
        return _not_stored(err)
    answer = {"accepted": [r.id for r in parsed.records], "rejected": parsed.rejected}
    if idem_key:
        await asyncio.to_thread(repo.remember_response, state.engine, idem_key, answer, now)
    # orjson: the stdlib encoder was ~2% of the API's CPU in a storm, for a list of ids.
    return Response(orjson.dumps(answer), status_code=202, media_type="application/json")


def _not_stored(err: Exception) -> JSONResponse:
    return JSONResponse({"error": f"alerts not stored ({type(err).__name__}: {err}); retry",
                         "retryable": True}, status_code=503, headers={"Retry-After": "1"})


@router.get("/alerts/{alert_id}", summary="One stored alert occurrence")
async def get_alert(alert_id: str, request: Request, _: Actor = Depends(require("ingest"))):
    row = await asyncio.to_thread(repo.get_alert, request.app.state.lim.engine, alert_id)
    if row is None:
        return JSONResponse({"error": f"no alert {alert_id}"}, status_code=404)
    return row


@router.get("/stats/ingest", summary="Ingestion counters and outbox lag")
async def ingest_stats(request: Request, _: Actor = Depends(require("ingest"))):
    state = request.app.state.lim
    counts = await asyncio.to_thread(repo.counters, state.engine)
    pending = await asyncio.to_thread(repo.outbox_pending_count, state.engine)
    return {"alerts_received": counts.get("alerts_received", 0),
            "alerts_stored": counts.get("alerts_received", 0),
            "outbox_written": counts.get("outbox_written", 0),
            "signals_sent": counts.get("signals_sent", 0),
            "outbox_pending": pending,
            "dispatcher_last_error": getattr(state.dispatcher, "last_error", "")}
