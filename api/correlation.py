"""Correlation at dispatch: where a new dedup key's alerts go, decided once per outbox drain.

The dispatcher reads a `CorrelationSnapshot` once per drain (open incidents from the read
model, the applied config's `depends_on` graph, keys it started itself recently) and asks
`plan(...)` for each dedup key in outbox order. A key that already has an open incident goes
to it as before. For a new key, `workflows.domain.correlation.correlate` decides:

* MERGE (near-duplicate text, same service and scope): the alerts are signalled to the
  existing incident's workflow instead of opening a new one;
* LINK (a symptom downstream of an open root incident): a new incident opens with
  `RouteDecision.root_incident_id` set and `suppress_paging=True`;
* ADOPT (the new alert is upstream of incidents that opened before it): a new incident opens
  with `RouteDecision.adopted_symptoms` naming their workflows; once open, the root signals
  each one `link_to_root` (durably, from workflow code), so they stop paging on their own;
* NEW: a new incident opens as usual.

Scope (env, cluster, region) is read back from dedup keys (`grouping.scope_from_key`), where
`grouping.key_of` put every scope label the alert carried, so look-alike alerts in two clusters
are never merged here either.

Every decision is written onto each `AlertChange.reason` (rule, score, which alert and which
incident), so the timeline says why. Incidents opened earlier in the same drain take part
too, under their workflow id, because a storm's root and symptoms usually arrive together.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.engine import Engine

from infra.db.tables.config import ConfigVersionRow
from infra.db.tables.incidents import IncidentRow
from workflows.domain.alerts import AlertStatus
from workflows.domain.correlation import (
    DEFAULT_WINDOW,
    CorrelationDecision,
    CorrelationKind,
    NewAlert,
    OpenIncident,
    correlate,
)
from workflows.domain.grouping import scope_from_key, workflow_id_for
from workflows.domain.incidents import AlertChange, RouteDecision

INCIDENTS = IncidentRow.__table__
OPEN_STATUSES = ("triggered", "acknowledged")
RECENT_KEYS_KEPT = 10_000  # keys this dispatcher started, until the read model shows them


@dataclass(frozen=True)
class Target:
    """Where one key's changes go: the workflow to signal-with-start and what it starts with."""

    workflow_id: str
    dedup_key: str
    route: RouteDecision
    changes: list[AlertChange]
    decision: CorrelationDecision | None = None


@dataclass
class CorrelationSnapshot:
    """Open incidents and the graph as of one drain; `plan` also adds what the drain opens."""

    open_keys: dict[str, str]  # dedup key -> incident id (read model) or workflow id
    incidents: list[OpenIncident]
    workflow_of: dict[str, str]  # incident id -> (workflow id, dedup key)
    key_of: dict[str, str]
    graph: dict[str, list[str]]
    window: timedelta = DEFAULT_WINDOW
    decisions: list[CorrelationDecision] = field(default_factory=list)

    def plan(self, key: str, changes: list[AlertChange], route: RouteDecision) -> Target:
        """Where `key`'s changes go. Pure apart from remembering incidents opened here."""
        own = Target(workflow_id_for(key), key, route, changes)
        first = next((c for c in changes if c.status is AlertStatus.FIRING), None)
        if key in self.open_keys or first is None:
            return own
        decision = correlate(_as_new_alert(first, key), self.incidents, self.graph, self.window)
        self.decisions.append(decision)
        if decision.kind is CorrelationKind.MERGE:
            target = decision.incident_id
            return Target(self.workflow_of[target], self.key_of[target], route,
                          _explained(changes, decision), decision)
        if decision.kind is CorrelationKind.LINK:
            route = route.model_copy(update={"root_incident_id": decision.incident_id,
                                             "suppress_paging": True,
                                             "correlation_reason": _explain(decision)})
        if decision.kind is CorrelationKind.ADOPT:
            route = route.model_copy(update={
                "adopted_symptoms": [self.workflow_of[s] for s in decision.symptoms],
                "correlation_reason": _explain(decision)})
        changes = changes if decision.kind is CorrelationKind.NEW else _explained(changes, decision)
        self._remember(key, first)
        return Target(own.workflow_id, key, route, changes, decision)

    def _remember(self, key: str, first: AlertChange) -> None:
        """The new incident takes part in later decisions of this drain, by its workflow id."""
        ref = workflow_id_for(key)
        self.open_keys[key] = ref
        self.workflow_of[ref], self.key_of[ref] = ref, key
        self.incidents.append(OpenIncident(incident_id=ref, title=first.title,
                                           service=first.service, scope=_scope(key, first.env),
                                           opened_at=first.at, last_alert_at=first.at))


class DispatchCorrelator:
    """Reads what correlation needs, cheaply: one query for open incidents per drain, and the
    dependency graph only when a new config version was applied."""

    def __init__(self, engine: Engine, window: timedelta = DEFAULT_WINDOW) -> None:
        self._engine = engine
        self._window = window
        self._graph: dict[str, list[str]] = {}
        self._graph_version = -1
        # Keys started by this dispatcher: the read model lags the workflow by a projection,
        # and a key whose incident is already open must never be merged elsewhere.
        self._started: OrderedDict[str, datetime] = OrderedDict()

    def snapshot(self, now: datetime) -> CorrelationSnapshot:
        """Blocking DB reads: call from a thread."""
        since = now - self._window
        with self._engine.connect() as conn:
            rows = conn.execute(select(
                INCIDENTS.c.id, INCIDENTS.c.workflow_id, INCIDENTS.c.dedup_key,
                INCIDENTS.c.title, INCIDENTS.c.service, INCIDENTS.c.env, INCIDENTS.c.opened_at,
                INCIDENTS.c.updated_at, INCIDENTS.c.status).where(or_(
                    INCIDENTS.c.status.in_(OPEN_STATUSES), INCIDENTS.c.resolved_at >= since))
            ).all()
        # A just-resolved incident's workflow still waits out its flap window: its key is
        # taken (a refire reopens it), but it is no candidate for other alerts.
        open_keys = {r.dedup_key: r.id for r in rows}
        rows = [r for r in rows if r.status in OPEN_STATUSES]
        open_keys |= {k: workflow_id_for(k) for k, at in self._started.items() if at >= since}
        return CorrelationSnapshot(
            open_keys=open_keys,
            incidents=[OpenIncident(incident_id=r.id, title=r.title, service=r.service,
                                    scope=_scope(r.dedup_key, r.env),
                                    opened_at=r.opened_at, last_alert_at=r.updated_at)
                       for r in rows],
            workflow_of={r.id: r.workflow_id for r in rows},
            key_of={r.id: r.dedup_key for r in rows},
            graph=self._dependency_graph(), window=self._window)

    def started(self, targets: list[Target], now: datetime) -> None:
        """Remember the keys whose own workflow was just signalled."""
        for t in targets:
            self._started[t.dedup_key] = now
            self._started.move_to_end(t.dedup_key)
        while len(self._started) > RECENT_KEYS_KEPT:
            self._started.popitem(last=False)

    def _dependency_graph(self) -> dict[str, list[str]]:
        with self._engine.connect() as conn:
            version = conn.execute(select(func.max(ConfigVersionRow.version))).scalar()
        if version is not None and version != self._graph_version:
            from infra.config.store import ConfigStore

            current = ConfigStore(self._engine).current()
            if current is not None:
                self._graph = {s.id: list(s.depends_on) for s in current.document.services}
                self._graph_version = current.version
        return self._graph


def _scope(key: str, env: str) -> dict[str, str]:
    """Scope of an incident or alert: what its dedup key carries, plus its env tag."""
    return ({"env": env} if env else {}) | scope_from_key(key)


def _as_new_alert(change: AlertChange, key: str) -> NewAlert:
    return NewAlert(alert_id=change.alert_id, title=change.title, service=change.service,
                    scope=_scope(key, change.env), at=change.at)


def _explain(decision: CorrelationDecision) -> str:
    return (f"correlation {decision.kind.value} (rule {decision.rule}, score "
            f"{decision.score:.2f}): {decision.reason}")


def _explained(changes: list[AlertChange], decision: CorrelationDecision) -> list[AlertChange]:
    why = _explain(decision)
    return [c.model_copy(update={"reason": f"{c.reason}; {why}" if c.reason else why})
            for c in changes]
