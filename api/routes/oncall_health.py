"""On-call health per responder: pages per week, after-hours pages, time to acknowledge.

Read from the delivery log (who was reached, when) and the timeline (when the incident was
acknowledged); figures come from the pure `schedule_health.responder_health`.

A *page* here is a person's first delivered notification for an incident: further channels and
repeat cycles for the same incident are the same interruption, so they do not inflate the count.
After-hours is judged in each responder's own time zone and business hours from the config.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from sqlalchemy import func, select

from api.auth import require
from infra.config.store import ConfigStore
from infra.db.tables.incidents import TimelineEventRow
from infra.db.tables.notify import DeliveryAttemptRow
from workflows.domain.base import Actor
from workflows.domain.schedule_health import PageRecord, ResponderHealth, responder_health

router = APIRouter(prefix="/api/v1/oncall", tags=["on-call"])
Admin = Annotated[Actor, Depends(require("admin"))]
ATTEMPTS = DeliveryAttemptRow.__table__
TIMELINE = TimelineEventRow.__table__
DEFAULT_PERIOD = timedelta(weeks=4)
MAX_PERIOD = timedelta(days=366)


@router.get("/health", summary="Paging load and time to acknowledge per responder")
async def oncall_health(
    request: Request, _: Admin,
    start: Annotated[datetime | None, Query(alias="from", description="Default: 4 weeks ago")] = None,
    end: Annotated[datetime | None, Query(alias="to", description="Default: now")] = None,
):
    finish = _aware(end, "to") or datetime.now(UTC)
    begin = _aware(start, "from") or finish - DEFAULT_PERIOD
    if finish <= begin:
        raise HTTPException(422, "to: must be after from")
    if finish - begin > MAX_PERIOD:
        raise HTTPException(422, f"to: at most {MAX_PERIOD.days} days after from")
    state = request.app.state.lim
    pages = await asyncio.to_thread(page_records, state.engine, begin, finish)
    current = await asyncio.to_thread(ConfigStore(state.engine).current)
    users = current.document.users if current else []
    names = {u.id: u.name for u in users}
    figures = responder_health(pages, users, begin, finish)
    return {"from": begin, "to": finish,
            "responders": [_json(f, names.get(f.user_id, "")) for f in figures]}


def page_records(engine, start: datetime, end: datetime) -> list[PageRecord]:
    """First delivered notification per (incident, person) in [start, end), with its ack time."""
    first = (select(ATTEMPTS.c.incident_id, ATTEMPTS.c.user_id,
                    func.min(ATTEMPTS.c.attempted_at).label("at"))
             .where(ATTEMPTS.c.result == "delivered", ATTEMPTS.c.user_id != "",
                    ATTEMPTS.c.attempted_at >= start, ATTEMPTS.c.attempted_at < end)
             .group_by(ATTEMPTS.c.incident_id, ATTEMPTS.c.user_id))
    with engine.connect() as conn:
        rows = conn.execute(first).all()
        incidents = {r.incident_id for r in rows}
        acks = dict(conn.execute(
            select(TIMELINE.c.incident_id, func.min(TIMELINE.c.at))
            .where(TIMELINE.c.kind == "acknowledged", TIMELINE.c.incident_id.in_(incidents))
            .group_by(TIMELINE.c.incident_id)).all()) if incidents else {}
    return [PageRecord(user_id=r.user_id, at=_utc(r.at), acked_at=_utc(acks.get(r.incident_id)))
            for r in rows]


def _utc(value: datetime | None) -> datetime | None:
    # Aggregates bypass the column type, so SQLite hands back naive (UTC) times or strings.
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _aware(value: datetime | None, field: str) -> datetime | None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise HTTPException(422, f"{field}: needs a time zone, e.g. 2026-01-05T09:00:00Z")
    return value.astimezone(UTC) if value else None


def _json(f: ResponderHealth, name: str) -> dict:
    def seconds(value: timedelta | None) -> float | None:
        return round(value.total_seconds(), 1) if value is not None else None

    return {"user_id": f.user_id, "name": name or f.user_id, "pages": f.pages,
            "pages_per_week": f.pages_per_week, "after_hours_pages": f.after_hours_pages,
            "acknowledged": f.acknowledged,
            "mean_time_to_ack_seconds": seconds(f.mean_time_to_ack),
            "median_time_to_ack_seconds": seconds(f.median_time_to_ack)}
