"""The ingestion write path's shortcuts store exactly what the plain path would, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select

from infra.db.engine import make_engine
from infra.db.repositories import alerts as repo
from infra.db.tables.core import AlertCounterRow, AlertIdentityRow, AlertRow
from workflows.domain.alerts import Alert, AlertStatus, AlertTags, fingerprint_of, occurrence_id
from workflows.domain.incidents import RouteDecision

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=15)
ALERTS = AlertRow.__table__
COUNTS = AlertCounterRow.__table__


@pytest.fixture
def db(db_url):
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def labels_of(instance: str) -> dict[str, str]:
    return {"alertname": "HighLatency", "service": "api", "instance": instance}


def routed(instance: str, status=AlertStatus.FIRING) -> repo.AlertRecord:
    labels = labels_of(instance)
    fp = fingerprint_of(labels)
    ends = NOW if status is AlertStatus.RESOLVED else None
    a = Alert(id=occurrence_id(fp, status, NOW, ends), fingerprint=fp, source="test",
              status=status, title="HighLatency", labels=labels, starts_at=NOW, ends_at=ends,
              tags=AlertTags(service="api"))
    return repo.record_of(a, RouteDecision(), "HighLatency.api.", "k")


def occurrences(db) -> dict[str, int]:
    with db.connect() as conn:
        return dict(conn.execute(select(COUNTS.c.alert_id, COUNTS.c.occurrences)).all())


def test_remembered_repeats_are_counted(db):
    known = repo.KnownAlerts()
    a, b = routed("a"), routed("b")
    repo.store(db, [a, a, b], NOW, WINDOW, known)
    repo.store(db, [a, b, b], NOW + timedelta(seconds=1), WINDOW, known)
    assert occurrences(db) == {a.id: 3, b.id: 3}
    row = repo.get_alert(db, a.id)
    assert row["last_received_at"].replace(tzinfo=UTC) == NOW + timedelta(seconds=1)
    assert row["labels"] == labels_of("a")


def test_a_remembered_occurrence_that_vanished_is_stored_again(db):
    known = repo.KnownAlerts()
    a, b = routed("a"), routed("b")
    repo.store(db, [a, b], NOW, WINDOW, known)
    with db.begin() as conn:  # its counter goes with it (foreign key, on both databases)
        conn.execute(delete(ALERTS).where(ALERTS.c.id == a.id))
    repo.store(db, [a, b], NOW, WINDOW, known)
    assert repo.get_alert(db, a.id)["labels"] == labels_of("a")
    assert occurrences(db) == {a.id: 1, b.id: 2}


def test_identity_state_is_read_back_through_the_column_types(db):
    # More identities than one IN chunk, signalled in two groups: the second group must see
    # every identity's state (nothing new is signalled) and a resolve is still news.
    many = [routed(str(i)) for i in range(repo.IN_CHUNK + 7)]
    assert repo.store(db, many, NOW, WINDOW, repo.KnownAlerts()) == len(many)
    assert repo.store(db, many, NOW + timedelta(seconds=5), WINDOW, repo.KnownAlerts()) == 0
    resolved = routed("3", AlertStatus.RESOLVED)
    assert repo.store(db, [resolved], NOW + timedelta(seconds=6), WINDOW) == 1
    with db.connect() as conn:
        status = conn.execute(select(AlertIdentityRow.__table__.c.status).where(
            AlertIdentityRow.__table__.c.fingerprint == resolved.fingerprint)).scalar_one()
    assert status == "resolved"


def test_times_survive_the_records_encoding_to_the_microsecond(db):
    labels = labels_of("t")
    fp = fingerprint_of(labels)
    starts, ends = NOW + timedelta(microseconds=123_456), NOW + timedelta(minutes=3, microseconds=7)
    alert = Alert(id=occurrence_id(fp, AlertStatus.RESOLVED, starts, ends), fingerprint=fp,
                  source="test", status=AlertStatus.RESOLVED, title="HighLatency", labels=labels,
                  starts_at=starts, ends_at=ends, tags=AlertTags(service="api"))
    repo.store(db, [repo.record_of(alert, RouteDecision(), "HighLatency.api.", "k")], NOW, WINDOW)
    row = repo.get_alert(db, alert.id)
    assert (row["starts_at"].replace(tzinfo=UTC), row["ends_at"].replace(tzinfo=UTC)) == (starts,
                                                                                          ends)
