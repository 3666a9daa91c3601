from __future__ import annotations

import pytest

from activities.notify.base import DeliveryError
from activities.notify.pagerduty import PagerDutyChannel
from activities.notify.recording import RecordingChannel
from activities.notify.teams import TeamsChannel
from activities.notify.webhook import WebhookChannel
from infra.settings.notify import PagerDutySettings, TeamsSettings, WebhookSettings
from tests.activities.notify.conftest import page
from tests.vendors.pagerduty import PagerDutyServer
from tests.vendors.teams import TeamsServer
from tests.vendors.webhook import WebhookReceiver
from workflows.domain.lifecycle import IncidentStatus
from workflows.domain.notifications import TargetKind


@pytest.fixture
async def pagerduty():
    async with PagerDutyServer(routing_keys={"RKEY"}) as server:
        yield server


def _pd(server, http) -> PagerDutyChannel:
    return PagerDutyChannel(http, PagerDutySettings(
        events_url=server.url + "/v2/enqueue", routing_keys={"ops": "RKEY", "old": "GONE"}))


async def test_pagerduty_trigger_ack_resolve_share_the_incident_dedup_key(pagerduty, http):
    channel = _pd(pagerduty, http)
    for status in (IncidentStatus.TRIGGERED, IncidentStatus.ACKNOWLEDGED,
                   IncidentStatus.RESOLVED):
        await channel.send(page(key=f"k-{status}", kind=TargetKind.PAGERDUTY, address="ops",
                                status=status))
    actions = [(e["event_action"], e["dedup_key"]) for e in pagerduty.events]
    assert actions == [("trigger", "inc-42"), ("acknowledge", "inc-42"), ("resolve", "inc-42")]
    trigger = pagerduty.events[0]
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["payload"]["custom_details"]["idempotency_key"] == "k-triggered"
    assert pagerduty.alerts == {"inc-42": "resolved"}


async def test_pagerduty_unknown_routing_key_is_permanent(pagerduty, http):
    with pytest.raises(DeliveryError) as err:
        await _pd(pagerduty, http).send(page(kind=TargetKind.PAGERDUTY, address="old"))
    assert err.value.retryable is False and "400" in err.value.message


async def test_pagerduty_throttle_honours_retry_after(pagerduty, http):
    pagerduty.fail(429, retry_after=30)
    with pytest.raises(DeliveryError) as err:
        await _pd(pagerduty, http).send(page(kind=TargetKind.PAGERDUTY, address="ops"))
    assert err.value.retryable is True and err.value.retry_after == 30.0


async def test_teams_gets_an_adaptive_card(http):
    async with TeamsServer() as teams:
        channel = TeamsChannel(http, TeamsSettings(webhooks={"sre": teams.url + "/webhook/sre"}))
        await channel.send(page(kind=TargetKind.TEAMS, address="sre"))
    [card] = teams.cards
    assert card["type"] == "AdaptiveCard" and "#42" in card["body"][0]["text"]
    assert card["actions"][0]["url"] == "http://lim.local/incidents/42"


async def test_webhook_is_signed_and_carries_the_idempotency_key(http, clock):
    async with WebhookReceiver(secret="s3cret") as receiver:
        settings = WebhookSettings(endpoints={"ops": {"url": receiver.url + "/hook",
                                                      "secret": "s3cret"}})
        channel = WebhookChannel(http, settings)  # real clock: the receiver checks freshness
        await channel.send(page(key="key-1", kind=TargetKind.WEBHOOK, address="ops"))
        await channel.send(page(key="key-1", kind=TargetKind.WEBHOOK, address="ops"))
    headers = receiver.received[0].headers
    assert headers["X-LIM-Signature"].startswith("sha256=") and headers["Idempotency-Key"] == "key-1"
    assert receiver.accepted["key-1"]["incident"]["number"] == 42
    assert receiver.duplicates == 1 and receiver.bad_signatures == 0


async def test_webhook_with_the_wrong_secret_is_refused_permanently(http):
    async with WebhookReceiver(secret="s3cret") as receiver:
        settings = WebhookSettings(endpoints={"ops": {"url": receiver.url + "/hook",
                                                      "secret": "guess"}})
        with pytest.raises(DeliveryError) as err:
            await WebhookChannel(http, settings).send(page(kind=TargetKind.WEBHOOK,
                                                           address="ops"))
    assert err.value.retryable is False and receiver.bad_signatures == 1


async def test_webhook_server_error_then_recovery(http):
    async with WebhookReceiver() as receiver:
        settings = WebhookSettings(endpoints={"ops": {"url": receiver.url + "/hook",
                                                      "secret": "whsec-test"}})
        channel = WebhookChannel(http, settings)
        receiver.fail(503, times=1)
        with pytest.raises(DeliveryError) as err:
            await channel.send(page(kind=TargetKind.WEBHOOK, address="ops"))
        assert err.value.retryable is True
        await channel.send(page(kind=TargetKind.WEBHOOK, address="ops"))
    assert len(receiver.accepted) == 1


async def test_recording_channel_keeps_what_it_delivered():
    channel = RecordingChannel()
    receipt = await channel.send(page(kind=TargetKind.RECORDING, address="demo"))
    assert channel.for_incident("inc-42")[0].title == "Checkout 5xx rate above 5%"
    assert receipt.provider_message_id == "rec-1" and "#42" in channel.texts[0]
