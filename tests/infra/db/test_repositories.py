"""Repositories on both databases: idempotent ingestion, version-guarded projection, keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from infra.db.engine import make_engine
from infra.db.repositories import alerts, incidents, keys
from workflows.domain.alerts import Alert, AlertStatus, AlertTags, fingerprint_of, occurrence_id
from workflows.domain.base import Severity
from workflows.domain.incidents import IncidentState, RouteDecision
from workflows.domain.timeline import EventKind, RecordIncident, TimelineEvent

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=15)


@pytest.fixture
def db(db_url):
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def alert(status=AlertStatus.FIRING, severity=Severity.HIGH, instance="a") -> Alert:
    labels = {"alertname": "HighLatency", "service": "api", "instance": instance}
    fp = fingerprint_of(labels)
    return Alert(id=occurrence_id(fp, status, NOW, None), fingerprint=fp, source="test",
                 status=status, title="HighLatency", labels=labels, starts_at=NOW,
                 tags=AlertTags(service="api", severity=severity))


def routed(a: Alert) -> alerts.AlertRecord:
    return alerts.record_of(a, RouteDecision(), "HighLatency.api.-", "k")


def test_a_repeated_alert_is_stored_once_and_counted(db):
    alerts.store(db, [routed(alert())] * 3, NOW, WINDOW)
    alerts.store(db, [routed(alert())], NOW, WINDOW)
    row = alerts.get_alert(db, alert().id)
    assert row["occurrences"] == 4
    assert alerts.lookup(db, [alert().id, "al_missing"]) == {alert().id}


def test_only_material_changes_reach_the_outbox(db):
    assert alerts.store(db, [routed(alert())], NOW, WINDOW) == 1          # new identity
    assert alerts.store(db, [routed(alert())], NOW, WINDOW) == 0          # repeat
    assert alerts.store(db, [routed(alert(severity=Severity.CRITICAL))], NOW, WINDOW) == 1
    assert alerts.store(db, [routed(alert(AlertStatus.RESOLVED, Severity.CRITICAL))], NOW, WINDOW) == 1
    pending = alerts.pending_outbox(db, 10)
    assert [p["change"]["status"] for p in pending] == ["firing", "firing", "resolved"]
    assert "new alert identity" in pending[0]["change"]["reason"]


def test_a_still_firing_alert_is_resent_once_per_window(db):
    alerts.store(db, [routed(alert())], NOW, WINDOW)
    assert alerts.store(db, [routed(alert())], NOW + WINDOW / 2, WINDOW) == 0
    assert alerts.store(db, [routed(alert())], NOW + WINDOW, WINDOW) == 1


def test_dispatched_rows_leave_the_outbox_and_count_signals(db):
    alerts.store(db, [routed(alert()), routed(alert(instance="b"))], NOW, WINDOW)
    ids = [r["id"] for r in alerts.pending_outbox(db, 10)]
    alerts.mark_dispatched(db, ids, NOW, signals=1)
    assert alerts.outbox_pending_count(db) == 0
    assert alerts.counters(db)["signals_sent"] == 1
    assert alerts.counters(db)["alerts_received"] == 2


def state(version: int, status="triggered") -> IncidentState:
    return IncidentState(incident_id="inc-1", dedup_key="k", title="t", opened_at=NOW,
                         version=version, status=status, severity=Severity.HIGH)


def event(seq: int) -> TimelineEvent:
    return TimelineEvent(seq=seq, at=NOW, kind=EventKind.NOTE, summary=f"note {seq}")


def test_projection_is_idempotent_and_an_older_snapshot_never_wins(db):
    n = incidents.project(db, RecordIncident(workflow_id="w", state=state(2, "acknowledged"),
                                             events=[event(1), event(2)]), NOW)
    again = incidents.project(db, RecordIncident(workflow_id="w", state=state(2, "acknowledged"),
                                                 events=[event(1), event(2)]), NOW)
    stale = incidents.project(db, RecordIncident(workflow_id="w", state=state(1), events=[event(1)]), NOW)
    assert n == again == stale
    assert incidents.find(db, str(n))["status"] == "acknowledged"
    assert [e["seq"] for e in incidents.timeline(db, "inc-1")] == [1, 2]


def test_incidents_filter_by_status_and_time(db):
    incidents.project(db, RecordIncident(workflow_id="w", state=state(1)), NOW)
    items, total = incidents.list_incidents(db, {"status": ["triggered"], "since": NOW - WINDOW}, 10, 0)
    assert total == 1 and items[0]["id"] == "inc-1"
    _, none = incidents.list_incidents(db, {"status": ["resolved"]}, 10, 0)
    assert none == 0


def test_keys_are_stored_hashed_and_revocable(db):
    key_id, secret = keys.create_key(db, "am", "ingest")
    assert keys.verify(db, secret)["id"] == key_id
    assert all(secret not in str(v) for row in keys.list_keys(db) for v in row.values())
    assert keys.revoke_key(db, key_id)
    assert keys.verify(db, secret) is None
    with pytest.raises(ValueError):
        keys.create_key(db, "x", "root")


def test_the_identity_cache_skips_the_read_and_forgets_when_another_process_stored(engine):
    from sqlalchemy import event

    cache, selects = alerts.IdentityCache(), []
    event.listen(engine, "before_cursor_execute",
                 lambda *args: selects.append(args[2]) if "alert_identities" in args[2]
                 and args[2].lstrip().upper().startswith("SELECT") else None)
    assert alerts.store(engine, [routed(alert())], NOW, WINDOW, identities=cache) == 1
    selects.clear()
    assert alerts.store(engine, [routed(alert())], NOW, WINDOW, identities=cache) == 0
    assert selects == []  # a repeat of an identity this process stored is decided from memory

    # Another process resolves the alert: our memory still says firing, and would swallow the
    # alert firing again. The counter every store bumps tells us someone else stored.
    other = make_engine(str(engine.url))
    try:
        assert alerts.store(other, [routed(alert(AlertStatus.RESOLVED))], NOW, WINDOW) == 1
    finally:
        other.dispose()
    assert alerts.store(engine, [routed(alert())], NOW + timedelta(seconds=1), WINDOW,
                        identities=cache) == 1
    assert selects, "the identity was read again"
