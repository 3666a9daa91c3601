"""Who is on call: now or at any instant, shifts and gaps over a period, and iCalendar feeds.

Computed from the applied configuration with the pure functions in `workflows.domain.schedules`,
so the answers here are exactly what escalation will page. Every time must carry a time zone
(`2026-01-05T09:00:00+01:00` or `...Z`); results are in UTC.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response

from api.auth import require
from infra.config.ical import schedule_calendar, user_calendar
from infra.config.store import ConfigStore
from workflows.domain.base import Actor
from workflows.domain.config import ConfigDocument
from workflows.domain.schedule_model import Schedule
from workflows.domain.schedules import gaps_between, oncall_at, shifts_between

router = APIRouter(prefix="/api/v1", tags=["schedules"])
Admin = Annotated[Actor, Depends(require("admin"))]
From = Annotated[datetime | None, Query(alias="from", description="Start (default: now)")]
To = Annotated[datetime | None,
               Query(alias="to", description="End (default: 7 days after `from`)")]

MAX_RANGE = timedelta(days=366)
DEFAULT_RANGE = timedelta(days=7)
CALENDAR_PAST = timedelta(days=7)
CALENDAR_AHEAD = timedelta(days=90)


async def _document(request: Request) -> ConfigDocument:
    current = await asyncio.to_thread(ConfigStore(request.app.state.lim.engine).current)
    return current.document if current else ConfigDocument()


def _schedule(doc: ConfigDocument, schedule_id: str) -> Schedule:
    schedule = doc.schedule(schedule_id)
    if schedule is None:
        raise HTTPException(404, f"no schedule {schedule_id!r}")
    return schedule


def _aware(value: datetime | None, field: str, default: datetime) -> datetime:
    if value is None:
        return default
    if value.tzinfo is None or value.utcoffset() is None:
        raise HTTPException(422, f"{field}: needs a time zone, e.g. 2026-01-05T09:00:00Z")
    return value.astimezone(UTC)


def _period(start: datetime | None, end: datetime | None,
            default: timedelta = DEFAULT_RANGE) -> tuple[datetime, datetime]:
    """[from, to) checked: both aware, to after from, at most `MAX_RANGE` long."""
    begin = _aware(start, "from", datetime.now(UTC))
    finish = _aware(end, "to", begin + default)
    if finish <= begin:
        raise HTTPException(422, "to: must be after from")
    if finish - begin > MAX_RANGE:
        raise HTTPException(422, f"to: at most {MAX_RANGE.days} days after from")
    return begin, finish


def _person(doc: ConfigDocument, user_id: str) -> dict:
    user = doc.user(user_id)
    return {"user_id": user_id, "name": (user.name if user else "") or user_id}


@router.get("/schedules/{schedule_id}/oncall", summary="Who is on call at an instant")
async def oncall(schedule_id: str, request: Request, _: Admin,
                 at: Annotated[datetime | None, Query(description="Instant (default: now)")] = None):
    doc = await _document(request)
    schedule = _schedule(doc, schedule_id)
    moment = _aware(at, "at", datetime.now(UTC))
    people = [_person(doc, u) for u in oncall_at(schedule, moment)]
    return {"schedule": schedule_id, "at": moment, "oncall": people, "gap": not people}


@router.get("/schedules/{schedule_id}/shifts", summary="Final shifts of a schedule in a period")
async def shifts(schedule_id: str, request: Request, _: Admin, start: From = None,
                 end: To = None):
    doc = await _document(request)
    schedule = _schedule(doc, schedule_id)
    begin, finish = _period(start, end)
    items = [{**_person(doc, s.user_id), "start": s.start, "end": s.end, "layer": s.layer}
             for s in shifts_between(schedule, begin, finish)]
    return {"schedule": schedule_id, "from": begin, "to": finish, "shifts": items}


@router.get("/schedules/{schedule_id}/gaps", summary="When nobody is on call in a period")
async def gaps(schedule_id: str, request: Request, _: Admin, start: From = None,
               end: To = None):
    doc = await _document(request)
    schedule = _schedule(doc, schedule_id)
    begin, finish = _period(start, end)
    found = gaps_between(schedule, begin, finish)
    total = sum((g.end - g.start for g in found), timedelta(0))
    return {"schedule": schedule_id, "from": begin, "to": finish,
            "gaps": [{"start": g.start, "end": g.end} for g in found],
            "uncovered_seconds": total.total_seconds()}


@router.get("/schedules/{schedule_id}.ics", summary="A schedule's shifts as an iCalendar feed",
            response_class=Response, responses={200: {"content": {"text/calendar": {}}}})
async def schedule_ics(schedule_id: str, request: Request, _: Admin, start: From = None,
                       end: To = None):
    doc = await _document(request)
    schedule = _schedule(doc, schedule_id)
    begin, finish = _calendar_period(start, end)
    body = schedule_calendar(schedule, begin, finish, {u.id: u for u in doc.users})
    return _ics(body, f"{schedule_id}.ics")


@router.get("/users/{user_id}/shifts.ics", summary="One responder's shifts as an iCalendar feed",
            response_class=Response, responses={200: {"content": {"text/calendar": {}}}})
async def user_ics(user_id: str, request: Request, _: Admin, start: From = None,
                   end: To = None):
    doc = await _document(request)
    if doc.user(user_id) is None:
        raise HTTPException(404, f"no user {user_id!r}")
    begin, finish = _calendar_period(start, end)
    return _ics(user_calendar(user_id, doc.schedules, begin, finish), f"{user_id}-shifts.ics")


def _calendar_period(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """Calendars default to a week back and 90 days ahead, so a subscription shows context."""
    begin = _aware(start, "from", datetime.now(UTC) - CALENDAR_PAST)
    return _period(begin, end, default=CALENDAR_PAST + CALENDAR_AHEAD)


def _ics(body: bytes, filename: str) -> Response:
    return Response(body, media_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition": f'inline; filename="{filename}"'})
