"""The SMS rate window is shared by every worker through the database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from activities.notify.base import DeliveryDeferred
from activities.notify.guards import ContactRateGate
from activities.notify.send_windows import SqlSendWindows
from activities.notify.twilio_channels import TwilioSmsChannel
from infra.db.engine import make_engine
from tests.activities.notify.test_twilio import _client, _settings, sms_page
from tests.vendors.twilio import TwilioServer

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def shared_engine(db_url):
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
async def twilio():
    async with TwilioServer(account_sid="AC42", auth_token="tok") as server:
        yield server


def worker_channel(server, http, engine, clock) -> TwilioSmsChannel:
    """One worker process's SMS channel: its own gate, the shared window table."""
    gate = ContactRateGate(timedelta(minutes=1), clock, windows=SqlSendWindows(engine))
    return TwilioSmsChannel(_client(server, http), _settings(server), gate, clock)


async def test_a_second_worker_holds_its_sms_inside_the_first_workers_window(
        twilio, http, shared_engine, clock):
    first = worker_channel(twilio, http, shared_engine, clock)
    second = worker_channel(twilio, http, shared_engine, clock)
    await first.send(sms_page("k1", 41))
    with pytest.raises(DeliveryDeferred) as held:
        await second.send(sms_page("k2", 42))
    assert held.value.retry_after == 60.0
    clock.advance(seconds=60)
    await second.send(sms_page("k2", 42))
    assert len(twilio.messages) == 2


async def test_racing_workers_claim_one_window_exactly_once(shared_engine):
    windows = [SqlSendWindows(shared_engine) for _ in range(8)]
    answers = await asyncio.gather(*(w.reserve("+15551230000", T0, timedelta(minutes=1))
                                     for w in windows))
    assert sum(a is None for a in answers) == 1  # one reservation; the rest see its start
    assert {a for a in answers if a is not None} == {T0}


async def test_releasing_a_failed_send_frees_only_its_own_window(shared_engine):
    windows = SqlSendWindows(shared_engine)
    window = timedelta(minutes=1)
    assert await windows.reserve("+1555", T0, window) is None
    await windows.release("+1555", T0 - timedelta(minutes=5))  # someone else's, long gone
    assert await windows.reserve("+1555", T0 + timedelta(seconds=1), window) == T0
    await windows.release("+1555", T0)
    assert await windows.reserve("+1555", T0 + timedelta(seconds=2), window) is None


async def test_the_ledger_tells_the_loser_of_a_delivery_race_on_both_databases(shared_engine):
    from activities.notify.ledger import DeliveryLedger
    from tests.activities.notify.conftest import page
    from workflows.domain.notifications import DeliveryReceipt, TargetKind

    ledger = DeliveryLedger(shared_engine)
    n = page(key="race", kind=TargetKind.SMS, address="+15551230000")
    receipt = DeliveryReceipt(channel="sms", target=n.target, provider_message_id="SM1",
                              delivered_at=T0)
    assert await ledger.record_delivery(n, receipt) is True
    assert await ledger.record_delivery(n, receipt) is False
