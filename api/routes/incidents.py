"""Reading incidents (from the read model) and acting on them (through their workflows)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from activities.llm.query import IncidentQueryParser, build_query_parser
from api.auth import require
from api.commands import CommandQueued, CommandRefused, send_command
from api.state import built_once
from infra.db.repositories import alerts as alert_repo
from infra.db.repositories import incidents as repo
from workflows.domain.base import Actor, ActorKind, Severity
from workflows.domain.incidents import (
    Acknowledge,
    AddNote,
    ChangeSeverity,
    Escalate,
    Reassign,
    Reopen,
    Resolve,
    Snooze,
)
from workflows.domain.lifecycle import IncidentStatus

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])
OPEN_STATUSES = [IncidentStatus.TRIGGERED.value, IncidentStatus.ACKNOWLEDGED.value]


@router.get("", summary="List incidents, newest first; `q` takes a question in plain words",
            description="`q=critical database outages this week` is parsed into filters by "
                        "Claude when an Anthropic key is configured, else (or when Claude "
                        "fails) by the local parser; `query` says which (`parser`: llm|local, "
                        "`fallback_reason`) and what filter was used. Explicit parameters win "
                        "over what `q` implies.")
async def list_incidents(
    request: Request,
    status: list[IncidentStatus] = Query(default=[]),
    severity: list[Severity] = Query(default=[]),
    service: list[str] = Query(default=[]),
    env: list[str] = Query(default=[]),
    since: datetime | None = None,
    until: datetime | None = None,
    q: str = Query(default="", max_length=500),
    limit: int = Query(default=50, ge=1, le=500),
    offset: int = Query(default=0, ge=0),
    _: Actor = Depends(require("admin")),
):
    filters = {"status": [s.value for s in status], "severity": [s.value for s in severity],
               "service": service, "env": env, "since": since, "until": until}
    query = await _apply_question(_query_parser(request), q, filters) if q.strip() else None
    items, total = await asyncio.to_thread(repo.list_incidents, request.app.state.lim.engine,
                                           filters, limit, offset)
    return {"items": items, "total": total, "limit": limit, "offset": offset, "query": query}


def _query_parser(request: Request) -> IncidentQueryParser:
    """The app's question parser, built on first use from the app's settings (cheap: no I/O)."""
    settings = request.app.state.lim.settings
    return built_once(request, "lim_query_parser", lambda: build_query_parser(settings.ai))


async def _apply_question(parser: IncidentQueryParser, text: str, filters: dict) -> dict:
    """Fill `filters` from the question where no explicit parameter says otherwise."""
    answer = await parser.parse(text, datetime.now(UTC))
    parsed, explanation = answer.filter, answer.explanation
    if parsed.status and not filters["status"]:
        filters["status"] = OPEN_STATUSES if parsed.status == "open" else [parsed.status]
    if parsed.severities and not filters["severity"]:
        filters["severity"] = [s.value for s in parsed.severities]
    if parsed.service and not filters["service"]:
        filters["service"] = [parsed.service]
    filters["since"] = filters["since"] or parsed.since
    filters["until"] = filters["until"] or parsed.until
    if parsed.category is not None and not filters["service"]:
        filters["category"] = [parsed.category.value]
    elif parsed.category is not None:  # "payments-db": the service is the more specific filter
        explanation += f"; category {parsed.category.value} not applied: a service was named"
    return {"text": text, "filter": parsed.model_dump(mode="json"), "explanation": explanation,
            "parser": answer.parser, "fallback_reason": answer.fallback_reason,
            "tokens": answer.tokens.model_dump(mode="json")}


@router.get("/{ref}", summary="One incident (id or number) with its alerts and timeline")
async def get_incident(ref: str, request: Request, _: Actor = Depends(require("admin"))):
    engine = request.app.state.lim.engine
    row = await _find(engine, ref)
    members = await asyncio.to_thread(repo.members, engine, row["id"])
    alerts = await asyncio.to_thread(alert_repo.alerts_for, engine,
                                     [m["fingerprint"] for m in members], row["opened_at"])
    timeline = await asyncio.to_thread(repo.timeline, engine, row["id"])
    return {**row, "members": members, "alerts": alerts, "timeline": timeline}


class NoteBody(BaseModel):
    text: str


class CommandBody(BaseModel):
    note: str = ""


class SeverityBody(BaseModel):
    severity: Severity
    reason: str = ""


@router.post("/{ref}/acknowledge", summary="Acknowledge: stops escalation")
async def acknowledge(ref: str, request: Request, body: CommandBody | None = None,
                      actor: Actor = Depends(require("admin")),
                      idempotency_key: str = Header(default="")):
    cmd = Acknowledge(note=body.note if body else "")
    return await _command(request, ref, "acknowledge", cmd, actor, idempotency_key)


@router.post("/{ref}/resolve", summary="Resolve the incident")
async def resolve(ref: str, request: Request, body: CommandBody | None = None,
                  actor: Actor = Depends(require("admin")),
                  idempotency_key: str = Header(default="")):
    cmd = Resolve(note=body.note if body else "")
    return await _command(request, ref, "resolve", cmd, actor, idempotency_key)


@router.post("/{ref}/reopen", summary="Reopen a resolved incident (within its flap window)")
async def reopen(ref: str, request: Request, body: CommandBody | None = None,
                 actor: Actor = Depends(require("admin")),
                 idempotency_key: str = Header(default="")):
    cmd = Reopen(reason=body.note if body else "")
    return await _command(request, ref, "reopen", cmd, actor, idempotency_key)


@router.post("/{ref}/notes", summary="Add a note to the timeline")
async def add_note(ref: str, body: NoteBody, request: Request,
                   actor: Actor = Depends(require("admin")),
                   idempotency_key: str = Header(default="")):
    if not body.text.strip():
        raise HTTPException(422, "text: a note needs text")
    return await _command(request, ref, "add_note", AddNote(text=body.text), actor, idempotency_key)


@router.post("/{ref}/severity", summary="Change the severity (sticks against alert changes)")
async def change_severity(ref: str, body: SeverityBody, request: Request,
                          actor: Actor = Depends(require("admin")),
                          idempotency_key: str = Header(default="")):
    cmd = ChangeSeverity(severity=body.severity, reason=body.reason)
    return await _command(request, ref, "change_severity", cmd, actor, idempotency_key)


class SnoozeBody(BaseModel):
    minutes: int = Field(ge=1, le=24 * 60)


class ReassignBody(BaseModel):
    user_id: str = Field(min_length=1)
    reason: str = ""


@router.post("/{ref}/escalate", summary="Page the next escalation step now")
async def escalate(ref: str, request: Request, body: CommandBody | None = None,
                   actor: Actor = Depends(require("admin")),
                   idempotency_key: str = Header(default="")):
    cmd = Escalate(reason=body.note if body else "")
    return await _command(request, ref, "escalate", cmd, actor, idempotency_key)


@router.post("/{ref}/snooze", summary="Pause escalation for some minutes")
async def snooze(ref: str, body: SnoozeBody, request: Request,
                 actor: Actor = Depends(require("admin")),
                 idempotency_key: str = Header(default="")):
    return await _command(request, ref, "snooze", Snooze(minutes=body.minutes), actor,
                          idempotency_key)


@router.post("/{ref}/reassign", summary="Hand the incident to a user (paged at once)")
async def reassign(ref: str, body: ReassignBody, request: Request,
                   actor: Actor = Depends(require("admin")),
                   idempotency_key: str = Header(default="")):
    cmd = Reassign(user_id=body.user_id, reason=body.reason)
    return await _command(request, ref, "reassign", cmd, actor, idempotency_key)


async def _find(engine, ref: str) -> dict:
    row = await asyncio.to_thread(repo.find, engine, ref)
    if row is None:
        raise HTTPException(404, f"no incident {ref}")
    return row


async def _command(request: Request, ref: str, update: str, cmd, actor: Actor,
                   idempotency_key: str):
    state = request.app.state.lim
    row = await _find(state.engine, ref)
    user = request.headers.get("x-lim-user", "").strip()
    if user:  # a person acting through an admin key (e.g. a dashboard or bot)
        actor = Actor(kind=ActorKind.USER, id=user, name=f"{user} via {actor.name}")
    cmd = cmd.model_copy(update={"actor": actor, "incident_id": row["id"],
                                 "request_id": idempotency_key or f"rest-{uuid.uuid4().hex}"})
    try:
        result = await send_command(await state.temporal.client(), row["workflow_id"], update, cmd,
                                    wait=state.settings.command_wait_seconds)
    except CommandRefused as err:
        raise HTTPException(err.status, err.reason) from err
    except CommandQueued as queued:
        return JSONResponse(status_code=202, content={
            "queued": True, "update": queued.update, "request_id": queued.request_id,
            "incident_id": row["id"], "number": row["number"], "detail": str(queued)})
    return {**result.model_dump(mode="json"), "number": row["number"]}
