"""Liveness and readiness. No key needed: load balancers and `lim up` call these."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
async def healthz():
    return {"status": "ok"}


@router.get("/readyz", summary="Ready only when the database and Temporal answer")
async def readyz(request: Request):
    state = request.app.state.lim
    checks = {"database": await _database(state.engine), "temporal": await _temporal(state)}
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


async def _database(engine) -> str:
    def ping() -> None:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    try:
        await asyncio.to_thread(ping)
        return "ok"
    except Exception as err:  # noqa: BLE001 - boundary: reported as data
        return f"{type(err).__name__}: {err}"[:300]


async def _temporal(state) -> str:
    try:
        client = await state.temporal.client()
        await asyncio.wait_for(client.service_client.check_health(), timeout=3)
        return "ok"
    except Exception as err:  # noqa: BLE001 - boundary: reported as data
        return f"{type(err).__name__}: {err}"[:300] or type(err).__name__
