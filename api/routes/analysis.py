"""Diagnosis on demand, change events, and evidence attached to incidents.

* `POST /api/v1/analyze`: an `AnalysisBundle` in, a `Diagnosis` out. Stored changes on the
  bundle's services from the `CHANGE_LOOKBACK` before `now` are added, so a deploy posted by
  CI is weighed even when the caller did not know about it.
* `POST /api/v1/changes` (ingest keys welcome: CI/CD posts deploys) and `GET` to read them.
* `POST /api/v1/incidents/{ref}/attachments`: logs and metric snapshots, redacted and stored;
  `POST /api/v1/incidents/{ref}/analyze` diagnoses an incident on demand with the very
  evidence gathering its workflow's diagnosis uses (`AnalysisRecordActivities.diagnose`).

The analyzer is the same `build_analyzer(settings.ai)` the worker uses (Claude when a key is
set, the local analyzer otherwise, saying which answered); built once per app on first use.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import ConfigDict, Field, field_validator

from activities.analysis_record import AnalysisRecordActivities
from activities.llm.fallback import build_analyzer
from activities.llm.prometheus import build_alert_metrics
from api.auth import require
from api.state import built_once
from infra.db.repositories import changes as repo
from infra.db.repositories import incidents as incident_repo
from workflows.analysis_flow import MAX_FINGERPRINTS, AnalysisTask
from workflows.domain.analysis import (
    AnalysisBundle,
    ChangeEvent,
    DiagnoseRequest,
    Diagnosis,
    LogLine,
    MetricSeries,
)
from workflows.domain.base import Actor, Severity, Strict
from workflows.domain.redaction import redact

router = APIRouter(prefix="/api/v1", tags=["analysis"])
Admin = Annotated[Actor, Depends(require("admin"))]
Ingest = Annotated[Actor, Depends(require("ingest"))]
CHANGE_LOOKBACK = timedelta(hours=2)
MAX_CHANGES_PER_POST = 500


class ChangeIn(ChangeEvent):
    """A change as posted: strict (a typo is an error) and with a time zone on `time`."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    service: str = Field(min_length=1)

    @field_validator("time")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("needs a time zone, e.g. 2026-01-05T09:00:00Z")
        return value


class AttachmentIn(Strict):
    title: str = ""
    logs: list[LogLine] = Field(default_factory=list, max_length=5_000)
    metrics: list[MetricSeries] = Field(default_factory=list, max_length=200)


async def _analyzer(request: Request):
    """The app's analyzer, built on first use (fitting the local classifier takes ~1 s)."""
    app_state = request.app.state
    lock = getattr(app_state, "lim_analyzer_lock", None)
    if lock is None:
        lock = app_state.lim_analyzer_lock = asyncio.Lock()
    async with lock:
        if getattr(app_state, "lim_analyzer", None) is None:
            settings = app_state.lim.settings
            app_state.lim_analyzer = await asyncio.to_thread(build_analyzer, settings.ai)
    return app_state.lim_analyzer


@router.post("/analyze", summary="Diagnose an evidence bundle: ranked, cited hypotheses",
             response_model=Diagnosis)
async def analyze(bundle: AnalysisBundle, request: Request, _: Admin,
                  title: str = "", service: str = ""):
    bundle = await _with_stored_changes(request, bundle)
    req = DiagnoseRequest(title=title, service=service, bundle=bundle)
    return await (await _analyzer(request)).diagnose(req)


async def _with_stored_changes(request: Request, bundle: AnalysisBundle,
                               since: datetime | None = None) -> AnalysisBundle:
    """The bundle plus stored changes on its services from `since` (default: `CHANGE_LOOKBACK`
    before the bundle's `now`) until `now`."""
    services = sorted({a.service for a in bundle.alerts} | {m.service for m in bundle.metrics}
                      | {line.service for line in bundle.logs} - {""})
    if not services:
        return bundle
    now = bundle.now or datetime.now(UTC)
    since = since or now - CHANGE_LOOKBACK
    rows = await asyncio.to_thread(repo.list_changes, request.app.state.lim.engine, services,
                                   since, now + timedelta(seconds=1))
    known = {(c.service, c.time, c.description) for c in bundle.changes}
    extra = [repo.as_change_event(r) for r in rows
             if (r["service"], r["time"], r["description"]) not in known]
    return bundle.model_copy(update={"changes": [*bundle.changes, *extra]}) if extra else bundle


@router.post("/changes", status_code=202, summary="Record deploys and config changes",
             description="One change or a list. Ingest keys may post (CI/CD). A change posted "
                         "twice is stored once.")
async def post_changes(body: ChangeIn | list[ChangeIn], request: Request, actor: Ingest):
    changes = body if isinstance(body, list) else [body]
    if not changes:
        raise HTTPException(422, "body: send a change or a non-empty list of changes")
    if len(changes) > MAX_CHANGES_PER_POST:
        raise HTTPException(422, f"body: at most {MAX_CHANGES_PER_POST} changes per request")
    events = [ChangeEvent.model_validate(c.model_dump()) for c in changes]
    ids = await asyncio.to_thread(repo.add_changes, request.app.state.lim.engine, events,
                                  actor.id, datetime.now(UTC))
    return {"accepted": ids}


@router.get("/changes", summary="Recent changes, newest first")
async def list_changes(request: Request, _: Admin,
                       service: Annotated[list[str], Query()] = [],  # noqa: B006 (FastAPI query)
                       since: datetime | None = None, until: datetime | None = None,
                       limit: Annotated[int, Query(ge=1, le=1000)] = 200):
    rows = await asyncio.to_thread(repo.list_changes, request.app.state.lim.engine, service,
                                   since, until, limit)
    return {"items": rows}


# ---- incident evidence -------------------------------------------------------------------------


async def _incident(request: Request, ref: str) -> dict:
    row = await asyncio.to_thread(incident_repo.find, request.app.state.lim.engine, ref)
    if row is None:
        raise HTTPException(404, f"no incident {ref}")
    return row


@router.post("/incidents/{ref}/attachments", status_code=201,
             summary="Attach logs or metric snapshots to an incident",
             description="Log messages are redacted (secrets, personal data) before storing.")
async def attach(ref: str, body: AttachmentIn, request: Request, actor: Admin):
    if not body.logs and not body.metrics:
        raise HTTPException(422, "logs: attach at least one log line or metric series")
    incident = await _incident(request, ref)
    logs = [line.model_copy(update={"message": redact(line.message)}) for line in body.logs]
    attachment_id = await asyncio.to_thread(
        repo.add_attachment, request.app.state.lim.engine, incident["id"], body.title, logs,
        body.metrics, actor.label, datetime.now(UTC))
    return {"id": attachment_id, "incident_id": incident["id"], "logs": len(logs),
            "metrics": len(body.metrics)}


@router.get("/incidents/{ref}/attachments", summary="An incident's attached evidence")
async def attachments(ref: str, request: Request, _: Admin):
    incident = await _incident(request, ref)
    rows = await asyncio.to_thread(repo.attachments_for, request.app.state.lim.engine,
                                   incident["id"])
    return {"incident_id": incident["id"], "items": rows}


@router.post("/incidents/{ref}/analyze", summary="Diagnose an incident from its evidence",
             description="Exactly what the incident's own diagnosis gathers: its alerts, attached "
                         "logs and metrics, changes on its services and their dependencies, "
                         "similar past incidents and, when configured, Prometheus series.",
             response_model=Diagnosis)
async def analyze_incident(ref: str, request: Request, _: Admin):
    incident = await _incident(request, ref)
    members = await asyncio.to_thread(incident_repo.members, request.app.state.lim.engine,
                                      incident["id"])
    task = AnalysisTask(incident_id=incident["id"], title=incident["title"],
                        service=incident["service"] or "", severity=Severity(incident["severity"]),
                        fingerprints=sorted(m["fingerprint"] for m in members)[:MAX_FINGERPRINTS],
                        opened_at=incident["opened_at"], at=datetime.now(UTC))
    return await (await _evidence(request)).diagnose(task)


async def _evidence(request: Request) -> AnalysisRecordActivities:
    """The worker's own evidence gathering (same code, same sources), built once per app."""
    analyzer, lim = await _analyzer(request), request.app.state.lim
    return built_once(request, "lim_evidence", lambda: AnalysisRecordActivities(
        lim.engine, analyzer, metrics=build_alert_metrics(lim.settings.ai)))
