"""Change events and incident attachments: written by the API, read by diagnosis."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine

from infra.db.tables.changes import ChangeEventRow, IncidentAttachmentRow
from infra.db.upsert import insert_for
from workflows.domain.analysis import ChangeEvent, LogLine, MetricSeries

CHANGES = ChangeEventRow.__table__
ATTACHMENTS = IncidentAttachmentRow.__table__


def change_id(change: ChangeEvent) -> str:
    """Content-derived id: the same change posted twice (a retried CI step) is one row."""
    c = change
    raw = f"{c.service}|{c.kind.value}|{c.time.isoformat()}|{c.ref}|{c.description}"
    return "chg_" + hashlib.sha256(raw.encode()).hexdigest()[:20]


def add_changes(engine: Engine, changes: list[ChangeEvent], key_id: str,
                now: datetime) -> list[str]:
    """Store `changes` (repeats are ignored); returns their ids in input order."""
    rows = [{"id": change_id(c), "time": c.time, "service": c.service, "kind": c.kind.value,
                 "description": c.description, "ref": c.ref, "received_at": now, "key_id": key_id}
            for c in changes]
    if rows:
        with engine.begin() as conn:
            conn.execute(insert_for(conn, CHANGES).values(rows)
                         .on_conflict_do_nothing(index_elements=["id"]))
    return [r["id"] for r in rows]


def list_changes(engine: Engine, services: list[str], since: datetime | None,
                 until: datetime | None, limit: int = 200) -> list[dict]:
    """Changes for `services` (all when empty) with time in [since, until), newest first."""
    conds = []
    if services:
        conds.append(CHANGES.c.service.in_(services))
    if since is not None:
        conds.append(CHANGES.c.time >= since)
    if until is not None:
        conds.append(CHANGES.c.time < until)
    with engine.connect() as conn:
        rows = conn.execute(select(CHANGES).where(*conds).order_by(CHANGES.c.time.desc())
                            .limit(limit)).mappings().all()
    return [dict(r) for r in rows]


def as_change_event(row: dict) -> ChangeEvent:
    return ChangeEvent(time=row["time"], service=row["service"], kind=row["kind"],
                       description=row["description"], ref=row["ref"] or row["id"])


def add_attachment(engine: Engine, incident_id: str, title: str, logs: list[LogLine],
                   metrics: list[MetricSeries], actor: str, now: datetime) -> int:
    """Store one attachment; returns its id."""
    values = {"incident_id": incident_id, "title": title, "created_at": now, "created_by": actor,
                  "logs": [line.model_dump(mode="json") for line in logs],
                  "metrics": [series.model_dump(mode="json") for series in metrics]}
    with engine.begin() as conn:
        return conn.execute(ATTACHMENTS.insert().values(**values)).inserted_primary_key[0]


def attachments_for(engine: Engine, incident_id: str) -> list[dict]:
    """Every attachment of the incident, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(select(ATTACHMENTS).where(ATTACHMENTS.c.incident_id == incident_id)
                            .order_by(ATTACHMENTS.c.id)).mappings().all()
    return [dict(r) for r in rows]
