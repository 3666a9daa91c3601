"""Delivery guarantees: once per key, breaker per channel, delivery log, error mapping."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import Session, select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment
from twilio.rest import Client

from activities.notify.activity import NotifyActivities
from activities.notify.base import DeliveryError, to_application_error
from activities.notify.guards import Breakers, BreakerState, CircuitBreaker, ContactRateGate
from activities.notify.recording import RecordingChannel
from activities.notify.slack import SlackChannel, slack_client
from activities.notify.twilio_channels import TwilioSmsChannel
from activities.notify.twilio_http import TwilioHttpClient
from infra.db.tables.notify import DeliveryAttemptRow, DeliveryRow
from infra.settings.notify import TwilioSettings
from tests.activities.notify.conftest import page
from tests.vendors.slack import SlackServer
from tests.vendors.twilio import TwilioServer
from workflows.domain.notifications import (
    DeliveryErrorType,
    SendNotification,
    TargetKind,
)


def _rows(engine, table):
    with Session(engine) as session:
        return list(session.exec(select(table)))


@pytest.fixture
async def slack():
    async with SlackServer(token="xoxb-good") as server:
        yield server


def _activities(slack_server, ledger, clock, threshold: int = 3) -> NotifyActivities:
    channels = {"slack": SlackChannel(slack_client("xoxb-good", slack_server.url + "/api/", 5)),
                "recording": RecordingChannel(clock)}
    return NotifyActivities(channels, ledger, Breakers(threshold, 30.0, clock.monotonic))


async def test_one_key_is_delivered_once_even_when_sent_twice(slack, ledger, engine, clock):
    acts = _activities(slack, ledger, clock)
    request = SendNotification(notification=page(), channel="slack")
    first = await acts.deliver(request)
    second = await acts.deliver(request)
    assert len(slack.posts) == 1
    assert second.duplicate and second.provider_message_id == first.provider_message_id
    assert second.thread_ref == first.thread_ref
    assert [r.result for r in _rows(engine, DeliveryAttemptRow)] == ["delivered", "duplicate"]
    [row] = _rows(engine, DeliveryRow)
    assert row.idempotency_key == page().idempotency_key and row.channel == "slack"


async def test_concurrent_sends_of_one_key_post_once(slack, ledger, clock):
    acts = _activities(slack, ledger, clock)
    request = SendNotification(notification=page(), channel="slack")
    receipts = await asyncio.gather(*(acts.deliver(request) for _ in range(3)))
    assert len(slack.posts) == 1 and sum(not r.duplicate for r in receipts) == 1


async def test_ledger_insert_ignores_a_second_delivery_of_the_same_key(ledger, clock):
    n = page()
    receipt = await RecordingChannel(clock).send(n)
    assert await ledger.record_delivery(n, receipt) is True
    assert await ledger.record_delivery(n, receipt) is False


async def test_every_attempt_is_logged_with_error_and_retryability(slack, ledger, engine, clock):
    acts = _activities(slack, ledger, clock)
    slack.fail(500, times=1)
    with pytest.raises(DeliveryError):
        await acts.deliver(SendNotification(notification=page(), channel="slack"))
    await acts.deliver(SendNotification(notification=page(), channel="slack"))
    failed, delivered = _rows(engine, DeliveryAttemptRow)
    assert (failed.result, failed.retryable, "500" in failed.error) == ("failed", True, True)
    assert delivered.result == "delivered" and delivered.provider_message_id
    assert failed.latency_ms >= 0 and failed.target_address == "C0ALERTS"


async def test_dead_channel_opens_the_circuit_then_half_opens_and_closes(
        slack, ledger, engine, clock):
    acts = _activities(slack, ledger, clock, threshold=3)
    slack.fail(500)
    for i in range(3):
        with pytest.raises(DeliveryError) as err:
            await acts.deliver(SendNotification(notification=page(key=f"k{i}"), channel="slack"))
        assert err.value.type_name == DeliveryErrorType.FAILED
    arrived = len(slack.refused)
    with pytest.raises(DeliveryError) as skipped:
        await acts.deliver(SendNotification(notification=page(key="k3"), channel="slack"))
    assert skipped.value.type_name == DeliveryErrorType.CIRCUIT_OPEN
    assert not skipped.value.retryable and len(slack.refused) == arrived  # never reached Slack
    # Other channels are unaffected: the fallback fires at once.
    await acts.deliver(SendNotification(
        notification=page(key="k3", kind=TargetKind.RECORDING, address="x"), channel="recording"))
    clock.advance(seconds=30)
    slack.healthy()
    await acts.deliver(SendNotification(notification=page(key="k4"), channel="slack"))
    await acts.deliver(SendNotification(notification=page(key="k5"), channel="slack"))
    assert len(slack.posts) == 2
    assert "circuit_open" in [r.result for r in _rows(engine, DeliveryAttemptRow)]


def test_failed_probe_reopens_the_circuit_for_another_cooldown(clock):
    breaker = CircuitBreaker(2, 10.0, clock.monotonic)
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN and not breaker.allow()
    clock.advance(seconds=10)
    assert breaker.allow() and not breaker.allow()  # one probe at a time
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    clock.advance(seconds=10)
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED and breaker.allow()


async def test_permanent_failures_do_not_open_the_circuit(slack, ledger, clock):
    acts = _activities(slack, ledger, clock, threshold=1)
    with pytest.raises(DeliveryError) as err:
        await acts.deliver(SendNotification(notification=page(address="bad"), channel="slack"))
    assert err.value.type_name == DeliveryErrorType.REJECTED
    await acts.deliver(SendNotification(notification=page(key="k2"), channel="slack"))


async def test_bundled_sms_marks_every_page_delivered_and_ack_finds_the_newest(
        ledger, engine, clock, http):
    async with TwilioServer(account_sid="AC1", auth_token="t") as twilio:
        client = Client("AC1", "t", http_client=TwilioHttpClient(http, twilio.url))
        sms = TwilioSmsChannel(client, TwilioSettings(from_number="+1555"),
                               ContactRateGate(timedelta(minutes=1), clock), clock)
        acts = NotifyActivities({"sms": sms}, ledger, Breakers(3, 30, clock.monotonic))

        def req(key, number):
            return SendNotification(channel="sms", notification=page(
                key=key, number=number, kind=TargetKind.SMS, address="+15551230000"))

        await acts.deliver(req("a", 1))
        with pytest.raises(DeliveryError) as held:
            await acts.deliver(req("b", 2))
        assert held.value.type_name == DeliveryErrorType.DEFERRED
        clock.advance(minutes=1)
        sent = await acts.deliver(req("c", 3))  # first after the window: carries "b" along
        retried = await acts.deliver(req("b", 2))  # the held page's own retry
    assert [b.idempotency_key for b in sent.bundled] == ["b"]
    assert retried.duplicate and len(twilio.messages) == 2
    delivered = {r.idempotency_key: r.bundled_into for r in _rows(engine, DeliveryRow)}
    assert delivered == {"a": None, "c": None, "b": "c"}
    assert await ledger.latest_page_to("+15551230000") == "inc-3"


async def test_application_error_mapping_says_whether_retrying_helps():
    throttled = to_application_error(DeliveryError("429", retryable=True, retry_after=12))
    rejected = to_application_error(DeliveryError("bad number", retryable=False))
    assert isinstance(throttled, ApplicationError)
    assert throttled.next_retry_delay == timedelta(seconds=12) and not throttled.non_retryable
    assert rejected.non_retryable and rejected.type == DeliveryErrorType.REJECTED


async def test_send_activity_raises_application_errors(slack, ledger, clock):
    acts = _activities(slack, ledger, clock)
    slack.fail(429, retry_after=7)
    with pytest.raises(ApplicationError) as err:
        await ActivityEnvironment().run(acts.send, SendNotification(notification=page(),
                                                                    channel="slack"))
    assert err.value.type == DeliveryErrorType.FAILED
    assert err.value.next_retry_delay == timedelta(seconds=7)
