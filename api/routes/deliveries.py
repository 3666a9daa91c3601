"""Every delivery attempt of one incident: the answer to "was I paged, and if not, why not?"."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from sqlalchemy import select

from api.auth import require
from infra.db.repositories import incidents as repo
from infra.db.tables.notify import DeliveryAttemptRow, DeliveryRow
from workflows.domain.base import Actor

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])
Admin = Annotated[Actor, Depends(require("admin"))]
ATTEMPTS = DeliveryAttemptRow.__table__
DELIVERIES = DeliveryRow.__table__


@router.get("/{ref}/deliveries", summary="Every delivery attempt for an incident",
            description="Oldest first: channel, target, result (delivered, duplicate, failed, "
                        "rejected, circuit_open, deferred), provider message id, latency and "
                        "error, plus the deliveries that succeeded (one per idempotency key).")
async def deliveries(ref: str, request: Request, _: Admin):
    engine = request.app.state.lim.engine
    row = await asyncio.to_thread(repo.find, engine, ref)
    if row is None:
        raise HTTPException(404, f"no incident {ref}")
    attempts, delivered = await asyncio.to_thread(_log_for, engine, row["id"])
    return {"incident_id": row["id"], "number": row["number"],
            "attempts": [_attempt(a) for a in attempts],
            "delivered": [dict(d) for d in delivered],
            "summary": _summary(attempts)}


def _log_for(engine, incident_id: str) -> tuple[list, list]:
    with engine.connect() as conn:
        attempts = conn.execute(select(ATTEMPTS).where(ATTEMPTS.c.incident_id == incident_id)
                                .order_by(ATTEMPTS.c.attempted_at, ATTEMPTS.c.id)).mappings().all()
        delivered = conn.execute(select(DELIVERIES)
                                 .where(DELIVERIES.c.incident_id == incident_id)
                                 .order_by(DELIVERIES.c.delivered_at)).mappings().all()
    return list(attempts), list(delivered)


def _attempt(a) -> dict:
    return {"at": a["attempted_at"], "channel": a["channel"],
            "target": {"kind": a["target_kind"], "address": a["target_address"],
                       "user_id": a["user_id"]},
            "result": a["result"], "provider_message_id": a["provider_message_id"],
            "latency_ms": a["latency_ms"], "error": a["error"], "retryable": a["retryable"],
            "idempotency_key": a["idempotency_key"]}


def _summary(attempts: list) -> dict[str, int]:
    counts: dict[str, int] = {}
    for a in attempts:
        counts[a["result"]] = counts.get(a["result"], 0) + 1
    return counts
