"""Incident projection (written by activities) and queries (read by the API)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from infra.db.tables.incidents import IncidentMemberRow, IncidentRow, TimelineEventRow
from infra.db.upsert import insert_for
from workflows.domain.incidents import IncidentState
from workflows.domain.timeline import RecordIncident

INCIDENTS = IncidentRow.__table__
MEMBERS = IncidentMemberRow.__table__
TIMELINE = TimelineEventRow.__table__


def project(engine: Engine, rec: RecordIncident, now: datetime) -> int:
    """Upsert the snapshot (only if newer) and append timeline events once; returns the number.

    Safe to retry and to run out of order: an older version never overwrites a newer one, and
    each (incident, seq) event is inserted at most once.
    """
    s = rec.state
    with engine.begin() as conn:
        values = _row_values(rec.workflow_id, s, now)
        ins = insert_for(conn, INCIDENTS).values(**values)
        conn.execute(ins.on_conflict_do_nothing(index_elements=["id"]))
        conn.execute(update(INCIDENTS).where(INCIDENTS.c.id == s.incident_id,
                                             INCIDENTS.c.version < s.version).values(**values))
        _project_members(conn, s)
        if rec.events:
            rows = [_event_values(s.incident_id, e) for e in rec.events]
            conn.execute(insert_for(conn, TIMELINE).on_conflict_do_nothing(
                index_elements=["incident_id", "seq"]), rows)
        return conn.execute(select(INCIDENTS.c.number).where(INCIDENTS.c.id == s.incident_id)).scalar_one()


def _row_values(workflow_id: str, s: IncidentState, now: datetime) -> dict:
    return {
        "id": s.incident_id, "workflow_id": workflow_id, "dedup_key": s.dedup_key, "title": s.title,
        "status": s.status.value, "severity": s.severity.value, "service": s.service, "env": s.env,
        "team": s.route.team, "route_id": s.route.route_id, "opened_at": s.opened_at,
        "acknowledged_at": s.acknowledged_at,
        "acknowledged_by": s.acknowledged_by.label if s.acknowledged_by else "",
        "resolved_at": s.resolved_at, "resolved_by": s.resolved_by.label if s.resolved_by else "",
        "updated_at": now, "version": s.version, "alert_count": s.alert_count,
        "firing_count": s.firing_count, "repeat_count": s.repeat_count,
        "category": s.analysis.category, "exhausted": s.escalation.exhausted, "extra": _extra(s),
    }


def _extra(s: IncidentState) -> dict:
    """Live details worth showing in lists without asking the workflow."""
    e, a = s.escalation, s.analysis
    return {
        "escalation": {"round": e.round, "next_due": _iso(e.next_due),
                       "snoozed_until": _iso(e.snoozed_until), "assignee": e.assignee,
                       "finished": e.finished},
        "analysis": {"tokens_spent": a.tokens_spent, "cost_usd": round(a.cost_usd, 6),
                     "classified": a.classified, "diagnosed": a.diagnosed,
                     "postmortem_drafted": a.postmortem_drafted},
        "root_incident_id": getattr(s.route, "root_incident_id", "") or "",
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _project_members(conn, s: IncidentState) -> None:
    if not s.members:
        return
    rows = [{"incident_id": s.incident_id, "fingerprint": m.fingerprint, "status": m.status.value,
                 "title": m.title, "severity": m.severity.value} for m in s.members.values()]
    ins = insert_for(conn, MEMBERS)
    conn.execute(ins.on_conflict_do_update(
        index_elements=["incident_id", "fingerprint"],
        set_={"status": ins.excluded.status, "severity": ins.excluded.severity},
    ), rows)


def _event_values(incident_id: str, e) -> dict:
    return {"incident_id": incident_id, "seq": e.seq, "at": e.at, "kind": e.kind.value,
                "actor_kind": e.actor.kind.value, "actor_id": e.actor.id, "actor_name": e.actor.name,
                "summary": e.summary, "details": e.details}


def find(engine: Engine, ref: str) -> dict | None:
    """An incident by id or short number ("42", "#42")."""
    ref = ref.lstrip("#")
    cond = INCIDENTS.c.number == int(ref) if ref.isdigit() else INCIDENTS.c.id == ref
    with engine.connect() as conn:
        row = conn.execute(select(INCIDENTS).where(cond)).mappings().first()
    return dict(row) if row else None


def list_incidents(engine: Engine, filters: dict, limit: int, offset: int) -> tuple[list[dict], int]:
    """Incidents matching `filters` (status, severity, service, env, since, until), newest first."""
    conds = []
    for name in ("status", "severity", "service", "env", "dedup_key", "category"):
        if filters.get(name):
            values = filters[name] if isinstance(filters[name], list) else [filters[name]]
            conds.append(INCIDENTS.c[name].in_(values))
    if filters.get("since"):
        conds.append(INCIDENTS.c.opened_at >= filters["since"])
    if filters.get("until"):
        conds.append(INCIDENTS.c.opened_at < filters["until"])
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(INCIDENTS).where(*conds)).scalar_one()
        rows = conn.execute(select(INCIDENTS).where(*conds)
                            .order_by(INCIDENTS.c.opened_at.desc(), INCIDENTS.c.number.desc())
                            .limit(limit).offset(offset)).mappings().all()
    return [dict(r) for r in rows], total


def timeline(engine: Engine, incident_id: str) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(select(TIMELINE).where(TIMELINE.c.incident_id == incident_id)
                            .order_by(TIMELINE.c.seq)).mappings().all()
    return [dict(r) for r in rows]


def members(engine: Engine, incident_id: str) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(select(MEMBERS).where(MEMBERS.c.incident_id == incident_id)).mappings().all()
    return [dict(r) for r in rows]
