"""The ingestion write path: one transaction stores a whole group of requests.

Called by the group-commit writer with every alert accepted since the last commit; does the
identity lookup, alert upserts, outbox rows and counters in one transaction so that either an
alert and its outbox row are both durable or neither is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Connection, Engine

from infra.db.tables.core import (
    AlertIdentityRow, AlertRow, IngestCounterRow, IngestRequestRow, OutboxRow,
)
from infra.db.upsert import insert_for
from workflows.domain.alerts import Alert, AlertStatus
from workflows.domain.grouping import IdentityState, materiality
from workflows.domain.incidents import AlertChange, RouteDecision

ALERTS = AlertRow.__table__
IDENTITIES = AlertIdentityRow.__table__
OUTBOX = OutboxRow.__table__
COUNTERS = IngestCounterRow.__table__
REQUESTS = IngestRequestRow.__table__


@dataclass(frozen=True)
class Routed:
    """An accepted alert with its route and dedup key, ready to store."""

    alert: Alert
    route: RouteDecision
    dedup_key: str
    key_id: str


def store(engine: Engine, items: list[Routed], now: datetime, refresh_after: timedelta) -> int:
    """Store alerts, update identities, queue material changes; returns outbox rows written."""
    with engine.begin() as conn:
        previous = _identities(conn, {i.alert.fingerprint for i in items})
        changes, identity_rows = _material_changes(items, previous, now, refresh_after)
        _upsert_alerts(conn, items, now)
        if identity_rows:
            ins = insert_for(conn, IDENTITIES)
            conn.execute(ins.on_conflict_do_update(index_elements=["fingerprint"], set_={
                c: ins.excluded[c] for c in ("dedup_key", "status", "severity", "title",
                                             "last_alert_id", "last_seen_at")}),
                list(identity_rows.values()))
        if changes:
            conn.execute(OUTBOX.insert(), changes)
        bump(conn, {"alerts_received": len(items), "outbox_written": len(changes)})
    return len(changes)


def _identities(conn: Connection, fingerprints: set[str]) -> dict[str, IdentityState]:
    rows = conn.execute(select(IDENTITIES.c.fingerprint, IDENTITIES.c.status,
                               IDENTITIES.c.severity, IDENTITIES.c.last_seen_at)
                        .where(IDENTITIES.c.fingerprint.in_(fingerprints))).all()
    return {r.fingerprint: IdentityState(status=AlertStatus(r.status), severity=r.severity,
                                         last_signalled_at=_aware(r.last_seen_at)) for r in rows}


def _material_changes(items, previous, now, refresh_after):
    """Outbox rows for occurrences that are news; identity rows remember what was signalled."""
    outbox: list[dict] = []
    identities: dict[str, dict] = {}
    state = dict(previous)
    for item in items:
        a = item.alert
        reason = materiality(state.get(a.fingerprint), a, now, refresh_after)
        if not reason:
            continue
        state[a.fingerprint] = IdentityState(status=a.status, severity=a.tags.severity.value,
                                             last_signalled_at=now)
        change = AlertChange(alert_id=a.id, fingerprint=a.fingerprint, status=a.status,
                             title=a.title, severity=a.tags.severity, service=a.tags.service,
                             env=a.tags.env, at=now, reason=_why(item, reason))
        outbox.append(dict(dedup_key=item.dedup_key, change=change.model_dump(mode="json"),
                           route=item.route.model_dump(mode="json"), created_at=now))
        identities[a.fingerprint] = dict(
            fingerprint=a.fingerprint, dedup_key=item.dedup_key, status=a.status.value,
            severity=a.tags.severity.value, title=a.title, last_alert_id=a.id, last_seen_at=now)
    return outbox, identities


def _why(item: Routed, reason: str) -> str:
    group = ",".join(item.route.group_by)
    return f"{reason}; route {item.route.route_id}, group_by [{group}] = {item.dedup_key}"


def _upsert_alerts(conn: Connection, items: list[Routed], now: datetime) -> None:
    """Insert new occurrences; for known ones only bump the count (no label payload to encode:
    in a storm most alerts are repeats)."""
    counts: dict[str, int] = {}
    first: dict[str, Routed] = {}
    for item in items:
        counts[item.alert.id] = counts.get(item.alert.id, 0) + 1
        first.setdefault(item.alert.id, item)
    known = set(conn.execute(select(ALERTS.c.id).where(ALERTS.c.id.in_(list(counts)))).scalars())
    if known:
        conn.execute(_BUMP, [{"k": i, "n": counts[i], "t": now} for i in known])
    fresh = [_alert_row(first[i], counts[i], now) for i in counts if i not in known]
    if fresh:
        # Another replica may insert the same occurrence meanwhile: then count it as a repeat.
        ins = insert_for(conn, ALERTS)
        conn.execute(ins.on_conflict_do_update(index_elements=["id"], set_={
            "occurrences": ALERTS.c.occurrences + ins.excluded.occurrences,
            "last_received_at": ins.excluded.last_received_at}), fresh)


_BUMP = (update(ALERTS).where(ALERTS.c.id == bindparam("k"))
         .values(occurrences=ALERTS.c.occurrences + bindparam("n"), last_received_at=bindparam("t")))


def _alert_row(item: Routed, count: int, now: datetime) -> dict:
    a, t = item.alert, item.alert.tags
    return dict(
        id=a.id, fingerprint=a.fingerprint, dedup_key=item.dedup_key, source=a.source,
        status=a.status.value, title=a.title, description=a.description, labels=a.labels,
        annotations=a.annotations, service=t.service, env=t.env, severity=t.severity.value,
        team=t.team, model_id=t.model_id, metric_type=t.metric_type, starts_at=a.starts_at,
        ends_at=a.ends_at, generator_url=a.generator_url, received_at=now, last_received_at=now,
        occurrences=count, key_id=item.key_id)


def bump(conn: Connection, deltas: dict[str, int]) -> None:
    """Add to durable counters (created on first use)."""
    rows = [dict(name=k, value=v) for k, v in deltas.items() if v]
    if not rows:
        return
    ins = insert_for(conn, COUNTERS)
    conn.execute(ins.on_conflict_do_update(index_elements=["name"], set_={
        "value": COUNTERS.c.value + ins.excluded.value}), rows)


def counters(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {r.name: r.value for r in conn.execute(select(COUNTERS))}


def lookup(engine: Engine, ids: list[str]) -> set[str]:
    """Which of `ids` are stored."""
    found: set[str] = set()
    with engine.connect() as conn:
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            found |= set(conn.execute(select(ALERTS.c.id).where(ALERTS.c.id.in_(chunk))).scalars())
    return found


def get_alert(engine: Engine, alert_id: str) -> dict | None:
    with engine.connect() as conn:
        row = conn.execute(select(ALERTS).where(ALERTS.c.id == alert_id)).mappings().first()
    return dict(row) if row else None


def alerts_for(engine: Engine, fingerprints: list[str], since: datetime, limit: int = 200) -> list[dict]:
    """Occurrences of these identities seen since `since` (minus a margin: the opening alert
    was received moments before the workflow stamped the incident open)."""
    since = _aware(since) - timedelta(minutes=10)
    with engine.connect() as conn:
        rows = conn.execute(select(ALERTS).where(ALERTS.c.fingerprint.in_(fingerprints),
                                                 ALERTS.c.last_received_at >= since)
                            .order_by(ALERTS.c.received_at.desc()).limit(limit)).mappings().all()
    return [dict(r) for r in rows]


def remembered_response(engine: Engine, key: str) -> dict | None:
    with engine.connect() as conn:
        row = conn.execute(select(REQUESTS.c.response).where(REQUESTS.c.key == key)).first()
    return row.response if row else None


def remember_response(engine: Engine, key: str, response: dict, now: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(insert_for(conn, REQUESTS).values(key=key, response=response, created_at=now)
                     .on_conflict_do_nothing(index_elements=["key"]))


# ---- outbox ----------------------------------------------------------------------------------


def pending_outbox(engine: Engine, limit: int) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(select(OUTBOX).where(OUTBOX.c.dispatched_at.is_(None))
                            .order_by(OUTBOX.c.id).limit(limit)).mappings().all()
    return [dict(r) for r in rows]


def mark_dispatched(engine: Engine, ids: list[int], now: datetime, signals: int) -> None:
    with engine.begin() as conn:
        conn.execute(update(OUTBOX).where(OUTBOX.c.id.in_(ids)).values(dispatched_at=now))
        bump(conn, {"signals_sent": signals})


def mark_failed(engine: Engine, ids: list[int], error: str) -> None:
    with engine.begin() as conn:
        conn.execute(update(OUTBOX).where(OUTBOX.c.id.in_(ids))
                     .values(attempts=OUTBOX.c.attempts + 1, last_error=error[:500]))


def outbox_pending_count(engine: Engine) -> int:
    from sqlalchemy import func
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(OUTBOX)
                            .where(OUTBOX.c.dispatched_at.is_(None))).scalar_one()


def _aware(moment: datetime) -> datetime:
    from datetime import UTC
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
