"""Fixtures for channel tests: a real SQLite ledger, a movable clock, notification factory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlmodel import SQLModel, create_engine

import infra.db.tables.notify  # noqa: F401  (registers the ledger tables)
from activities.notify.ledger import DeliveryLedger
from workflows.domain.base import Severity
from workflows.domain.notifications import ContactTarget, Link, Notification, TargetKind


class MovableClock:
    """Wall clock (datetime) and monotonic clock (float) that only move when told to."""

    def __init__(self) -> None:
        self.now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.now.timestamp()

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def engine(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path}/t.db")
    SQLModel.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def ledger(engine, clock) -> DeliveryLedger:
    return DeliveryLedger(engine, clock)


@pytest.fixture
async def http():
    async with httpx.AsyncClient() as client:
        yield client


def page(key: str = "incident-abc:s0:c0:cm1", kind: TargetKind = TargetKind.SLACK_CHANNEL,
         address: str = "C0ALERTS", number: int = 42, **fields) -> Notification:
    """A page for incident #number with redacted text, to `address`."""
    values = {
        "idempotency_key": key, "incident_id": f"inc-{number}", "incident_number": number,
        "title": "Checkout 5xx rate above 5%", "severity": Severity.CRITICAL,
        "summary": "5xx ratio 7.2% on checkout-api for 6 minutes.",
        "links": [Link(label="Incident", url=f"http://lim.local/incidents/{number}")],
        "target": ContactTarget(kind=kind, address=address, user_id="alice",
                             contact_method_id="cm1"),
    }
    values.update(fields)
    return Notification(**values)
