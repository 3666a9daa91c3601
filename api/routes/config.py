"""Configuration over REST: CRUD per object type, and the whole document as YAML or JSON.

Every write builds the next document, checks it exactly like `lim config check` (schema, then
cross-references) and applies it as one new version through `ConfigStore`, so the API, the CLI
and `lim.yaml` can never disagree about what is valid. A change that would leave a dangling
reference (deleting a user a team still names) is refused with 422 naming each problem.

Writes answer with the new version and what changed; `If-Match: <version>` makes a write
conditional (412 when someone applied another version meanwhile).
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Header, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel

from api.auth import require
from infra.config.diff import Change, diff_configs, render_changes
from infra.config.export import export_config
from infra.config.loader import Problem, dotted, parse_text
from infra.config.store import AppliedConfig, ConfigConflict, ConfigStore
from workflows.domain.base import Actor
from workflows.domain.config import ConfigDocument, EscalationPolicy, Route, Service, Team, User
from workflows.domain.config_validation import validate_references
from workflows.domain.schedule_model import Schedule

router = APIRouter(prefix="/api/v1", tags=["configuration"])
Admin = Annotated[Actor, Depends(require("admin"))]
IfMatch = Annotated[str, Header(description="Apply only if the current version is this one")]
# An object edit redone on a newer version when another write won the race (no If-Match).
EDIT_ATTEMPTS = 5
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")


@dataclass(frozen=True)
class Collection:
    path: str  # URL segment
    field: str  # ConfigDocument attribute
    noun: str
    model: type[BaseModel]


COLLECTIONS = [
    Collection("users", "users", "user", User),
    Collection("teams", "teams", "team", Team),
    Collection("schedules", "schedules", "schedule", Schedule),
    Collection("escalation-policies", "escalation_policies", "escalation policy",
               EscalationPolicy),
    Collection("services", "services", "service", Service),
    Collection("routes", "routes", "route", Route),
]


class ConfigRefused(Exception):
    """The resulting document would be invalid; fixing the request is the remedy (422)."""

    def __init__(self, message: str, problems: list[dict]) -> None:
        super().__init__(message)
        self.message = message
        self.problems = problems

    def response(self) -> JSONResponse:
        return JSONResponse({"error": self.message, "problems": self.problems,
                             "retryable": False}, status_code=422)


# ---- applying a new document -------------------------------------------------------------------


def _store(request: Request) -> ConfigStore:
    return ConfigStore(request.app.state.lim.engine)


def _lock(request: Request) -> asyncio.Lock:
    """One writer at a time per process, so read-modify-apply never loses a concurrent edit."""
    lock = getattr(request.app.state, "lim_config_lock", None)
    if lock is None:
        lock = request.app.state.lim_config_lock = asyncio.Lock()
    return lock


def _who(request: Request, actor: Actor) -> str:
    user = request.headers.get("x-lim-user", "").strip()
    return f"{user} via {actor.label}" if user else actor.label


async def _current(request: Request) -> AppliedConfig | None:
    return await asyncio.to_thread(_store(request).current)


def _check_precondition(current: AppliedConfig | None, if_match: str) -> None:
    if not if_match:
        return
    version = current.version if current else 0
    if if_match.strip('"') != str(version):
        raise HTTPException(412, f"If-Match: configuration is at version {version}, not "
                                 f"{if_match}; read it again and retry")


def _refuse_if_invalid(doc: ConfigDocument, what: str) -> None:
    problems = validate_references(doc)
    if problems:
        listed = [{"path": dotted(p.path), "message": p.message} for p in problems]
        text = "; ".join(f"{p['path']}: {p['message']}" for p in listed)
        raise ConfigRefused(f"{what} would leave the configuration invalid: {text}", listed)


async def _apply(request: Request, doc: ConfigDocument, actor: Actor, what: str,
                 base: AppliedConfig | None, dry_run: bool = False) -> dict:
    """Validate `doc`, apply it as a new version (unless `dry_run`), answer with the diff."""
    _refuse_if_invalid(doc, what)
    changes = diff_configs(base.document if base else ConfigDocument(), doc)
    version = base.version if base else 0
    if not dry_run and (changes or base is None):
        # Raises ConfigConflict when another write landed since `base` was read.
        version = await asyncio.to_thread(_store(request).apply, doc, _who(request, actor),
                                          version)
        await _refresh_routing(request)
    applied = version != (base.version if base else 0)
    return {"version": version, "applied": applied, "dry_run": dry_run,
            "changes": [_change_json(c) for c in changes], "diff": render_changes(changes)}


async def _refresh_routing(request: Request) -> None:
    """Route new alerts with the new version at once instead of after the next poll."""
    routing = getattr(request.app.state.lim, "router", None)
    if routing is not None:
        await asyncio.to_thread(routing.refresh)


def _change_json(change: Change) -> dict:
    return {**change.model_dump(mode="json"), "text": change.render()}


# ---- per-object CRUD ---------------------------------------------------------------------------


def _dump(item: BaseModel) -> dict:
    return item.model_dump(mode="json", by_alias=True)


def _items(doc: ConfigDocument | None, col: Collection) -> list:
    return list(getattr(doc, col.field)) if doc else []


def _replace(doc: ConfigDocument | None, col: Collection, items: list) -> ConfigDocument:
    base = doc or ConfigDocument()
    return ConfigDocument.model_validate({**base.model_dump(by_alias=True), col.field: items})


def _mount(col: Collection) -> None:
    plural = col.path.replace("-", " ")

    @router.get(f"/{col.path}", summary=f"List {plural}")
    async def list_items(request: Request, _: Admin):
        current = await _current(request)
        return {"items": [_dump(i) for i in _items(current and current.document, col)],
                "version": current.version if current else 0}

    @router.get(f"/{col.path}/{{item_id}}", summary=f"One {col.noun}")
    async def get_item(item_id: str, request: Request, response: Response, _: Admin):
        current = await _current(request)
        item = _find(_items(current and current.document, col), item_id, col)
        response.headers["ETag"] = f'"{current.version}"'
        return _dump(item)

    @router.put(f"/{col.path}/{{item_id}}", summary=f"Create or replace a {col.noun}",
                description="Applies a new configuration version; 422 names every dangling "
                            "reference the change would leave.")
    async def put_item(item_id: str, request: Request,
                       body: Annotated[col.model, Body()],  # type: ignore[name-defined]
                       actor: Admin, if_match: IfMatch = ""):
        if body.id and body.id != item_id:
            raise HTTPException(422, f"id: the body says {body.id!r} but the path says {item_id!r}")
        item = body.model_copy(update={"id": item_id})
        created = False

        async def replace(current: AppliedConfig | None) -> dict:
            nonlocal created
            items = _items(current and current.document, col)
            index = next((i for i, x in enumerate(items) if x.id == item_id), None)
            created = index is None
            items = [*items, item] if created else [item if i == index else x
                                                    for i, x in enumerate(items)]
            verb = "creating" if created else "replacing"
            return await _apply(request, _replace(current and current.document, col, items),
                                actor, f"{verb} {col.noun} {item_id!r}", current)

        try:
            answer = await _edit(request, if_match, replace)
        except ConfigRefused as refused:
            return refused.response()
        return {**answer, "created": created, "item": _dump(item)}

    @router.delete(f"/{col.path}/{{item_id}}", summary=f"Delete a {col.noun}",
                   description="Refused (422) while anything still refers to it.")
    async def delete_item(item_id: str, request: Request, actor: Admin, if_match: IfMatch = ""):
        async def delete(current: AppliedConfig | None) -> dict:
            items = _items(current and current.document, col)
            _find(items, item_id, col)
            kept = [x for x in items if x.id != item_id]
            return await _apply(request, _replace(current.document, col, kept), actor,
                                f"deleting {col.noun} {item_id!r}", current)

        try:
            return await _edit(request, if_match, delete)
        except ConfigRefused as refused:
            return refused.response()


async def _edit(request: Request, if_match: str,
                edit: Callable[[AppliedConfig | None], Awaitable[dict]]) -> dict:
    """Read, edit one object, apply as a compare-and-swap on the version read.

    Another replica's write landing in between makes the swap fail; without `If-Match` the
    edit is redone on the new version (it touches one object, so it merges), a few times; with
    `If-Match` the caller asked for exactly that version, so they get 412.
    """
    for _ in range(EDIT_ATTEMPTS):
        async with _lock(request):
            current = await _current(request)
            _check_precondition(current, if_match)
            try:
                return await edit(current)
            except ConfigConflict as err:
                if if_match:
                    raise HTTPException(412, f"If-Match: {err}; read it again and retry") from err
    raise HTTPException(409, "the configuration kept changing under this edit; retry")


def _find(items: list, item_id: str, col: Collection):
    found = next((x for x in items if x.id == item_id), None)
    if found is None:
        raise HTTPException(404, f"no {col.noun} {item_id!r}")
    return found


for _collection in COLLECTIONS:
    _mount(_collection)


# ---- the whole document ------------------------------------------------------------------------


@router.get("/config", summary="The applied configuration (JSON, or YAML with format=yaml)",
            description="`?format=yaml` or `Accept: application/yaml` gives the `lim.yaml` form.")
async def get_config(request: Request, _: Admin,
                     format: Annotated[str, Query(pattern="^(json|yaml)$")] = "json"):
    current = await _current(request)
    doc = current.document if current else ConfigDocument()
    wants_yaml = format == "yaml" or request.headers.get("accept", "").startswith(YAML_TYPES)
    headers = {"ETag": f'"{current.version if current else 0}"'}
    if wants_yaml:
        return PlainTextResponse(export_config(doc), media_type="application/yaml",
                                 headers=headers)
    meta = {"version": 0, "applied_at": None, "applied_by": ""}
    if current:
        meta = current.model_dump(mode="json", include={"version", "applied_at", "applied_by"})
    return JSONResponse({**meta, "document": doc.model_dump(mode="json", by_alias=True)},
                        headers=headers)


@router.put("/config", summary="Replace the whole configuration (YAML or JSON body)",
            description="The body is checked like `lim config check` (problems name their line). "
                        "`?dry_run=true` answers with the diff and applies nothing.")
async def put_config(request: Request, actor: Admin, dry_run: bool = False,
                     if_match: IfMatch = ""):
    text = (await request.body()).decode("utf-8", errors="replace")
    doc, problems = parse_text(text)  # JSON is YAML too, so one parser serves both
    if problems or doc is None:
        return _document_problems(problems or [Problem(line=1, path="", message="empty")])
    async with _lock(request):
        current = await _current(request)
        _check_precondition(current, if_match)
        try:
            return await _apply(request, doc, actor, "this document", current, dry_run=dry_run)
        except ConfigRefused as refused:  # parse_text checks references too; kept as a guard
            return refused.response()
        except ConfigConflict as err:  # a whole document is never merged: the caller decides
            raise HTTPException(409, f"{err}; read the configuration again and retry") from err


def _document_problems(problems: list[Problem]) -> JSONResponse:
    first = problems[0]
    return JSONResponse({
        "error": f"{len(problems)} problem(s); first: {first.render()}",
        "field": first.path,
        "problems": [p.model_dump() for p in problems],
        "retryable": False,
    }, status_code=422)

