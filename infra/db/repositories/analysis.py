"""AI triage results: stored by `record.analysis`, read by the API and by later analyses."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from infra.db.tables.analysis import AnalysisRow
from infra.db.tables.notify import DeliveryRow
from infra.db.upsert import insert_for

ANALYSES = AnalysisRow.__table__
DELIVERIES = DeliveryRow.__table__
KINDS = ("classification", "diagnosis", "postmortem")


def store(engine: Engine, row: dict) -> int:
    """Insert one answer unless its `key` is already stored; returns the row id either way."""
    with engine.begin() as conn:
        conn.execute(insert_for(conn, ANALYSES).values(**row)
                     .on_conflict_do_nothing(index_elements=["key"]))
        return conn.execute(select(ANALYSES.c.id).where(ANALYSES.c.key == row["key"])).scalar_one()


def latest(engine: Engine, incident_id: str, kind: str) -> dict | None:
    """The newest answer of `kind` for the incident, or None."""
    with engine.connect() as conn:
        row = conn.execute(select(ANALYSES).where(ANALYSES.c.incident_id == incident_id,
                                                  ANALYSES.c.kind == kind)
                           .order_by(ANALYSES.c.created_at.desc(), ANALYSES.c.id.desc())
                           .limit(1)).mappings().first()
    return dict(row) if row else None


def all_for(engine: Engine, incident_id: str) -> list[dict]:
    """Every answer for the incident, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(select(ANALYSES).where(ANALYSES.c.incident_id == incident_id)
                            .order_by(ANALYSES.c.created_at, ANALYSES.c.id)).mappings().all()
    return [dict(r) for r in rows]


def token_totals(engine: Engine, incident_id: str) -> dict:
    """What analysis cost this incident: tokens, USD and calls, in total and per kind."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(ANALYSES.c.kind, func.count(), func.coalesce(func.sum(ANALYSES.c.tokens), 0),
                   func.coalesce(func.sum(ANALYSES.c.cost_usd), 0.0))
            .where(ANALYSES.c.incident_id == incident_id).group_by(ANALYSES.c.kind)).all()
    by_kind = {kind: {"calls": n, "tokens": int(t), "cost_usd": round(float(c), 6)}
               for kind, n, t, c in rows}
    return {
        "calls": sum(v["calls"] for v in by_kind.values()),
        "tokens": sum(v["tokens"] for v in by_kind.values()),
        "cost_usd": round(sum(v["cost_usd"] for v in by_kind.values()), 6),
        "by_kind": by_kind,
    }


def latest_root_causes(engine: Engine, incident_ids: list[str]) -> dict[str, dict]:
    """For past incidents: the top hypothesis of each one's latest diagnosis and its category."""
    if not incident_ids:
        return {}
    with engine.connect() as conn:
        rows = conn.execute(select(ANALYSES.c.incident_id, ANALYSES.c.kind, ANALYSES.c.content)
                            .where(ANALYSES.c.incident_id.in_(incident_ids),
                                   ANALYSES.c.kind.in_(["classification", "diagnosis"]))
                            .order_by(ANALYSES.c.created_at, ANALYSES.c.id)).all()
    out: dict[str, dict] = {}
    for incident_id, kind, content in rows:  # oldest first: the newest answer wins
        entry = out.setdefault(incident_id, {"root_cause": "", "category": ""})
        if kind == "classification":
            entry["category"] = content.get("category", "")
        elif content.get("hypotheses"):
            entry["root_cause"] = content["hypotheses"][0].get("cause", "")
    return out


def pages_sent(engine: Engine, incident_id: str) -> int:
    """Notifications delivered for the incident (for the post-mortem's impact section)."""
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(DELIVERIES)
                            .where(DELIVERIES.c.incident_id == incident_id)).scalar_one()

