"""What AI triage concluded for an incident, read from the `analyses` table.

* `GET /api/v1/incidents/{ref}/analysis`: the latest classification and diagnosis, which
  analyzer answered each (`llm` or `local`) and why the local one stood in, plus the tokens
  and USD the incident has spent on analysis (in total and per kind).
* `GET /api/v1/incidents/{ref}/postmortem`: the latest post-mortem draft as `text/markdown`;
  404 with a reason until the incident has been resolved and drafted.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import PlainTextResponse

from api.auth import require
from infra.db.repositories import analysis as repo
from infra.db.repositories import incidents as incident_repo
from workflows.domain.base import Actor

router = APIRouter(prefix="/api/v1/incidents", tags=["analysis"])
Admin = Annotated[Actor, Depends(require("admin"))]


def _answer(row: dict | None) -> dict | None:
    """One stored answer as the API shows it: who answered, why, what it cost, and what."""
    if row is None:
        return None
    return {"analyzer": row["analyzer"], "fallback_reason": row["fallback_reason"],
            "created_at": row["created_at"], "tokens": row["tokens"],
            "cost_usd": row["cost_usd"], **row["content"]}


async def _incident(request: Request, ref: str) -> dict:
    row = await asyncio.to_thread(incident_repo.find, request.app.state.lim.engine, ref)
    if row is None:
        raise HTTPException(404, f"no incident {ref}")
    return row


@router.get("/{ref}/analysis", summary="AI classification, diagnosis and their cost")
async def incident_analysis(ref: str, request: Request, _: Admin):
    engine = request.app.state.lim.engine
    incident = await _incident(request, ref)

    def read() -> dict:
        return {
            "incident_id": incident["id"], "number": incident["number"],
            "classification": _answer(repo.latest(engine, incident["id"], "classification")),
            "diagnosis": _answer(repo.latest(engine, incident["id"], "diagnosis")),
            "postmortem_available": repo.latest(engine, incident["id"], "postmortem") is not None,
            "cost": repo.token_totals(engine, incident["id"]),
        }

    return await asyncio.to_thread(read)


@router.get("/{ref}/postmortem", summary="The post-mortem draft (Markdown)",
            response_class=PlainTextResponse,
            responses={200: {"content": {"text/markdown": {}}}})
async def incident_postmortem(ref: str, request: Request, _: Admin):
    incident = await _incident(request, ref)
    row = await asyncio.to_thread(repo.latest, request.app.state.lim.engine, incident["id"],
                                  "postmortem")
    if row is None:
        raise HTTPException(404, f"incident {ref} has no post-mortem draft yet: one is drafted "
                                 "when the incident resolves")
    return PlainTextResponse(row["markdown"], media_type="text/markdown; charset=utf-8",
                             headers={"X-Analyzer": row["analyzer"]})
