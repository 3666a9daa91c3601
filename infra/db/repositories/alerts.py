"""The ingestion write path: one transaction stores a whole group of requests.

Called by the group-commit writer with every alert accepted since the last commit; does the
identity lookup, alert upserts, outbox rows and counters in one transaction so that either an
alert and its outbox row are both durable or neither is. An occurrence's wide row (labels,
annotations) is written once; its repeats only update its narrow `alert_counters` row.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

import orjson
from sqlalchemy import JSON, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from infra.db.engine import as_utc
from infra.db.tables.core import (
    AlertCounterRow,
    AlertIdentityRow,
    AlertRow,
    IngestCounterRow,
    IngestRequestRow,
    OutboxRow,
)
from infra.db.upsert import insert_for
from workflows.domain.alerts import Alert, AlertStatus
from workflows.domain.base import Severity
from workflows.domain.grouping import IdentityState, materiality
from workflows.domain.incidents import AlertChange, RouteDecision

ALERTS = AlertRow.__table__
ALERT_COUNTS = AlertCounterRow.__table__
IDENTITIES = AlertIdentityRow.__table__
OUTBOX = OutboxRow.__table__
COUNTERS = IngestCounterRow.__table__
REQUESTS = IngestRequestRow.__table__


class AlertRecord(NamedTuple):
    """One accepted alert as the write path needs it: plain values in a tuple, so that a group of
    them pickles cheaply to the writer process (`api.alert_writer`). The wide row is encoded
    once per alert (`record_of`) and decoded only when the occurrence turns out to be new."""

    id: str
    fingerprint: str
    dedup_key: str
    status: str
    severity: str
    title: str
    service: str
    env: str
    route: bytes  # the RouteDecision as JSON, for the outbox row
    route_note: str  # "route R, group_by [..] = key": why the alert went where it went
    row: bytes  # the `alerts` row but for `received_at`, as JSON (orjson: ~2 µs, pickle ~19 µs)


def record_of(alert: Alert, route: RouteDecision, dedup_key: str, key_id: str,
              route_json: bytes | None = None) -> AlertRecord:
    """The record of `alert` routed by `route` to `dedup_key`, received with key `key_id`.
    `route_json` may pass `route` already encoded (callers that route many alerts alike)."""
    t = alert.tags
    row = {
        "id": alert.id, "fingerprint": alert.fingerprint, "dedup_key": dedup_key,
        "source": alert.source, "status": alert.status.value, "title": alert.title,
        "description": alert.description, "labels": alert.labels, "annotations": alert.annotations,
        "service": t.service, "env": t.env, "severity": t.severity.value, "team": t.team,
        "model_id": t.model_id, "metric_type": t.metric_type, "starts_at": alert.starts_at,
        "ends_at": alert.ends_at, "generator_url": alert.generator_url, "key_id": key_id}
    note = f"route {route.route_id}, group_by [{','.join(route.group_by)}] = {dedup_key}"
    return AlertRecord(
        id=alert.id, fingerprint=alert.fingerprint, dedup_key=dedup_key,
        status=alert.status.value, severity=t.severity.value, title=alert.title,
        service=t.service, env=t.env, route=route_json or route_json_of(route), route_note=note,
        row=orjson.dumps(row))


def route_json_of(route: RouteDecision) -> bytes:
    return orjson.dumps(route.model_dump(mode="json"))


def store(engine: Engine, items: list[AlertRecord], now: datetime, refresh_after: timedelta,
          known: KnownAlerts | None = None, identities: IdentityCache | None = None) -> int:
    """Store alerts, update identities, queue material changes; returns outbox rows written.

    `known` (kept by the one writer of a process) lets repeats of occurrences this process has
    already stored skip the existence query; `identities`, kept only by the database's sole
    writer, lets them skip reading their identity's state. Both are updated only once the
    transaction committed.
    """
    known = known if known is not None else KnownAlerts()
    cache = identities if identities is not None else IdentityCache(size=0)
    with engine.begin() as conn:
        received = cache.validate(conn)
        fingerprints = {i.fingerprint for i in items}
        previous = cache.known(fingerprints)
        if len(previous) < len(fingerprints):
            previous.update(_identities(conn, [f for f in fingerprints if f not in previous]))
        changes, identity_rows, states = _material_changes(items, previous, now, refresh_after)
        stored = _upsert_alerts(conn, items, now, known)
        if identity_rows:
            _executemany(conn, "identity_upsert", list(identity_rows.values()))
        if changes:
            _executemany(conn, "outbox_insert", changes)
        bump(conn, {"alerts_received": len(items), "outbox_written": len(changes)})
    known.add(stored)
    cache.update(states, received + len(items))
    return len(changes)


class IdentityCache:
    """Each identity's state as this process last committed it, so a storm's repeats skip the
    `SELECT ... FROM alert_identities`. For SQLite's single writer: every group first reads the
    `alerts_received` counter, which every store bumps, and a value other than the one this
    process left means another process stored alerts meanwhile, so everything is forgotten.
    The writer process's engine (`make_priority_writer_engine`) begins IMMEDIATE, so the read and
    the writes are one snapshot; on a plain SQLite engine the read runs before the write lock,
    as the identity read it replaces did. `size=0` keeps nothing. Bounded by clearing when full."""

    def __init__(self, size: int = 100_000) -> None:
        self._size = size
        self._states: dict[str, IdentityState] = {}
        self._received: int | None = None  # the counter as our last commit left it

    def validate(self, conn: Connection) -> int:
        """Forget everything unless the counter is where we left it; returns the counter."""
        if not self._size:
            return 0
        received = conn.execute(_RECEIVED).scalar() or 0
        if received != self._received:
            self._states.clear()
        return received

    def known(self, fingerprints) -> dict[str, IdentityState]:
        states = self._states
        return {f: states[f] for f in fingerprints if f in states}

    def update(self, states: dict[str, IdentityState], received: int) -> None:
        if not self._size:
            return
        if len(self._states) + len(states) > self._size:
            self._states.clear()
        self._states.update(states)
        self._received = received


_RECEIVED = select(COUNTERS.c.value).where(COUNTERS.c.name == "alerts_received")


class KnownAlerts:
    """Occurrence ids this process has seen committed, so a storm's repeats skip the
    `SELECT ... WHERE id IN` and go straight to the count bump. Nothing deletes occurrences
    today; should something start to, the bump's row count notices (deleting an occurrence
    cascades to its counter) and the ids are looked up again. Bounded by clearing when full."""

    def __init__(self, size: int = 200_000) -> None:
        self._size = size
        self._ids: set[str] = set()

    def split(self, ids) -> tuple[list[str], list[str]]:
        """(ids known stored, ids to look up)."""
        cached: list[str] = []
        unknown: list[str] = []
        for alert_id in ids:
            (cached if alert_id in self._ids else unknown).append(alert_id)
        return cached, unknown

    def add(self, ids: list[str]) -> None:
        if len(self._ids) + len(ids) > self._size:
            self._ids.clear()
        self._ids.update(ids)

    def forget(self) -> None:
        self._ids.clear()


def _identities(conn: Connection, fingerprints: list[str]) -> dict[str, IdentityState]:
    columns = (IDENTITIES.c.fingerprint, IDENTITIES.c.status, IDENTITIES.c.severity,
               IDENTITIES.c.last_seen_at)
    to_time = _memoised(IDENTITIES.c.last_seen_at.type._cached_result_processor(conn.dialect,
                                                                                  None))
    states: dict[tuple, IdentityState] = {}  # identities signalled together share one state
    found: dict[str, IdentityState] = {}
    for fingerprint, status, severity, seen in _select_in(conn, "identities", columns,
                                                          fingerprints):
        state = (status, severity, seen)
        if state not in states:
            states[state] = IdentityState(status=AlertStatus(status), severity=severity,
                                          last_signalled_at=as_utc(to_time(seen)))
        found[fingerprint] = states[state]
    return found


def _material_changes(items: list[AlertRecord], previous, now, refresh_after):
    """Outbox rows for occurrences that are news; identity rows remember what was signalled;
    and every identity's state once the group is stored."""
    outbox: list[dict] = []
    identities: dict[str, dict] = {}
    state = dict(previous)
    routes: dict[bytes, dict] = {}
    for item in items:
        status = AlertStatus(item.status)
        reason = materiality(state.get(item.fingerprint), status, item.severity, now,
                             refresh_after)
        if not reason:
            continue
        state[item.fingerprint] = IdentityState(status=status, severity=item.severity,
                                                last_signalled_at=now)
        change = AlertChange(alert_id=item.id, fingerprint=item.fingerprint, status=status,
                             title=item.title, severity=Severity(item.severity),
                             service=item.service, env=item.env, at=now,
                             reason=f"{reason}; {item.route_note}")
        if item.route not in routes:
            routes[item.route] = orjson.loads(item.route)
        outbox.append({"dedup_key": item.dedup_key, "change": change.model_dump(mode="json"),
                       "route": routes[item.route], "created_at": now})
        identities[item.fingerprint] = {
            "fingerprint": item.fingerprint, "dedup_key": item.dedup_key, "status": item.status,
            "severity": item.severity, "title": item.title, "last_alert_id": item.id,
            "last_seen_at": now}
    return outbox, identities, state


def _upsert_alerts(conn: Connection, items: list[AlertRecord], now: datetime,
                   known: KnownAlerts) -> list[str]:
    """Insert new occurrences; for known ones only bump the narrow counter row (no label payload
    to encode or rewrite: in a storm most alerts are repeats). Returns the ids now stored."""
    counts: dict[str, int] = {}
    first: dict[str, AlertRecord] = {}
    for item in items:
        counts[item.id] = counts.get(item.id, 0) + 1
        first.setdefault(item.id, item)
    cached, unknown = known.split(counts)
    if cached and _bump_alerts(conn, cached, counts, now) != len(cached):
        # A remembered occurrence is gone: the UPDATE skipped it, so treat it as unknown.
        known.forget()
        present = _existing(conn, cached)
        unknown += [i for i in cached if i not in present]
    existing = _existing(conn, unknown) if unknown else set()
    if existing:
        _bump_alerts(conn, list(existing), counts, now)
    fresh = [i for i in unknown if i not in existing]
    if fresh:
        # Another replica may insert the same occurrence meanwhile: the insert then does
        # nothing and the counter upsert counts it as a repeat.
        _executemany(conn, "alert_insert", [_alert_row(first[i], now) for i in fresh])
        _executemany(conn, "count_upsert", [{"alert_id": i, "occurrences": counts[i],
                                             "last_received_at": now} for i in fresh])
    return list(counts)


def _existing(conn: Connection, ids: list[str]) -> set[str]:
    """Ids with a counter: every stored occurrence has one (written with it, deleted with it)."""
    return {row[0] for row in _select_in(conn, "alert_counts", (ALERT_COUNTS.c.alert_id,), ids)}


def _bump_alerts(conn: Connection, ids: list[str], counts: dict[str, int], now: datetime) -> int:
    """Add `counts` to these occurrences; returns how many rows were updated."""
    return _executemany(conn, "alert_bump", [{"k": i, "n": counts[i], "t": now} for i in ids])


def _alert_row(item: AlertRecord, now: datetime) -> dict:
    row = orjson.loads(item.row)
    row["starts_at"] = datetime.fromisoformat(row["starts_at"])
    if row["ends_at"] is not None:
        row["ends_at"] = datetime.fromisoformat(row["ends_at"])
    row["received_at"] = now
    return row


# ---- the hot statements, compiled once per dialect ------------------------------------------


def _hot_statements(dialect_name: str) -> dict:
    module = postgresql if dialect_name == "postgresql" else sqlite
    counts, identities = module.insert(ALERT_COUNTS), module.insert(IDENTITIES)
    totals = module.insert(COUNTERS)
    return {
        "counter_bump": totals.on_conflict_do_update(index_elements=["name"], set_={
            "value": COUNTERS.c.value + totals.excluded.value}),
        "alert_bump": update(ALERT_COUNTS).where(ALERT_COUNTS.c.alert_id == bindparam("k")).values(
            occurrences=ALERT_COUNTS.c.occurrences + bindparam("n"),
            last_received_at=bindparam("t")),
        "alert_insert": module.insert(ALERTS).on_conflict_do_nothing(index_elements=["id"]),
        "count_upsert": counts.on_conflict_do_update(index_elements=["alert_id"], set_={
            "occurrences": ALERT_COUNTS.c.occurrences + counts.excluded.occurrences,
            "last_received_at": counts.excluded.last_received_at}),
        "identity_upsert": identities.on_conflict_do_update(index_elements=["fingerprint"], set_={
            c: identities.excluded[c] for c in ("dedup_key", "status", "severity", "title",
                                                 "last_alert_id", "last_seen_at")}),
        "outbox_insert": OUTBOX.insert(),
    }


class _Prepared:
    """A statement compiled once and run as one driver-level executemany.

    SQLAlchemy's per-execution work (compiling, building every row's parameters, calling each
    type's bind processor per value) was ~40% of the ingestion write path. Here the SQL is
    compiled once per dialect and row keys; the columns' own bind processors still convert the
    values, so what is stored is exactly what `conn.execute` would store, but a value repeated
    within a group (the commit time, a status) is converted once.
    """

    def __init__(self, statement, dialect, keys: tuple[str, ...]) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys))
        self.sql = compiled.string
        self.positional = compiled.positional
        names = compiled.positiontup if compiled.positional else list(compiled.binds)
        # Columns the rows leave out are bound to their (scalar) column defaults.
        defaults = {c.key: c.default.arg for c in statement.table.columns
                    if c.default is not None and c.default.is_scalar}
        self.plan = [(name, compiled.binds[name].type._cached_bind_processor(dialect),
                      isinstance(compiled.binds[name].type, JSON),
                      _FROM_ROW if name in keys else defaults[name]) for name in names]

    def params(self, rows: list[dict]) -> list:
        columns = [self._column(rows, *step) for step in self.plan]
        if self.positional:
            return list(zip(*columns))
        names = [step[0] for step in self.plan]
        return [dict(zip(names, values)) for values in zip(*columns)]

    @staticmethod
    def _column(rows: list[dict], name: str, process, is_json: bool, constant) -> list:
        values = [row[name] for row in rows] if constant is _FROM_ROW else [constant] * len(rows)
        if process is None:
            return values
        if is_json:  # dicts are unhashable: convert each
            return [process(v) for v in values]
        seen: dict = {}
        return [seen[v] if v in seen else seen.setdefault(v, process(v)) for v in values]


IN_CHUNK = 500  # values per `IN (...)`: under SQLite's bound-parameter limit


def _select_in(conn: Connection, name: str, columns: tuple, values: list) -> list[tuple]:
    """Raw rows of `SELECT columns WHERE columns[0] IN values`, in chunks of IN_CHUNK.

    The statement is compiled once per dialect with a fixed number of placeholders (a short
    chunk is padded by repeating its last value, which IN ignores): SQLAlchemy's expanding IN
    re-renders the SQL for every list, which cost ~4 ms per 1,000 values. Values are returned as
    the driver gives them (no result processing).
    """
    key = (conn.dialect.name, "select_in", name)
    sql = _PREPARED.get(key)
    if sql is None:
        statement = select(*columns).where(
            columns[0].in_([bindparam(f"v{i}") for i in range(IN_CHUNK)]))
        compiled = statement.compile(dialect=conn.dialect)
        sql = _PREPARED[key] = (compiled.string, compiled.positional)
    rows: list[tuple] = []
    for start in range(0, len(values), IN_CHUNK):
        chunk = values[start:start + IN_CHUNK]
        chunk += [chunk[-1]] * (IN_CHUNK - len(chunk))
        params = tuple(chunk) if sql[1] else {f"v{i}": v for i, v in enumerate(chunk)}
        rows += conn.exec_driver_sql(sql[0], params).fetchall()
    return rows


def _memoised(process):
    """A result processor that converts each distinct value once (None: values as they are)."""
    if process is None:
        return lambda value: value
    seen: dict = {}
    return lambda value: seen[value] if value in seen else seen.setdefault(value, process(value))


_PREPARED: dict[tuple, object] = {}
_FROM_ROW = object()


def _executemany(conn: Connection, name: str, rows: list[dict]) -> int:
    """Run hot statement `name` over `rows` (all with the same keys); returns rows affected."""
    key = (conn.dialect.name, name, tuple(rows[0]))
    prepared = _PREPARED.get(key)
    if prepared is None:
        statement = _hot_statements(conn.dialect.name)[name]
        prepared = _PREPARED[key] = _Prepared(statement, conn.dialect, key[2])
    return conn.exec_driver_sql(prepared.sql, prepared.params(rows)).rowcount


def bump(conn: Connection, deltas: dict[str, int]) -> None:
    """Add to durable counters (created on first use)."""
    rows = [{"name": k, "value": v} for k, v in deltas.items() if v]
    if not rows:
        return
    _executemany(conn, "counter_bump", rows)  # compiled once: it runs with every group commit


def counters(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {r.name: r.value for r in conn.execute(select(COUNTERS))}


def lookup(engine: Engine, ids: list[str]) -> set[str]:
    """Which of `ids` are stored."""
    if not ids:
        return set()
    with engine.connect() as conn:
        return {row[0] for row in _select_in(conn, "alert_ids", (ALERTS.c.id,), ids)}


# An occurrence as readers see it: its row plus how often and when last it was received.
_WITH_COUNTS = select(ALERTS, ALERT_COUNTS.c.occurrences, ALERT_COUNTS.c.last_received_at) \
    .join(ALERT_COUNTS, ALERT_COUNTS.c.alert_id == ALERTS.c.id)


def get_alert(engine: Engine, alert_id: str) -> dict | None:
    with engine.connect() as conn:
        row = conn.execute(_WITH_COUNTS.where(ALERTS.c.id == alert_id)).mappings().first()
    return dict(row) if row else None


def alerts_for(engine: Engine, fingerprints: list[str], since: datetime, limit: int = 200) -> list[dict]:
    """Occurrences of these identities seen since `since` (minus a margin: the opening alert
    was received moments before the workflow stamped the incident open)."""
    since = as_utc(since) - timedelta(minutes=10)
    with engine.connect() as conn:
        rows = conn.execute(_WITH_COUNTS.where(ALERTS.c.fingerprint.in_(fingerprints),
                                               ALERT_COUNTS.c.last_received_at >= since)
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
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(OUTBOX)
                            .where(OUTBOX.c.dispatched_at.is_(None))).scalar_one()

