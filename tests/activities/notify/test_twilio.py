from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from twilio.rest import Client

from activities.notify.base import DeliveryDeferred, DeliveryError
from activities.notify.guards import ContactRateGate
from activities.notify.twilio_channels import TwilioSmsChannel, TwilioVoiceChannel
from activities.notify.twilio_http import TwilioHttpClient
from infra.settings.notify import TwilioSettings
from tests.activities.notify.conftest import page
from tests.vendors.twilio import TwilioServer
from workflows.domain.notifications import TargetKind


@pytest.fixture
async def twilio():
    async with TwilioServer(account_sid="AC42", auth_token="tok") as server:
        yield server


def _settings(server: TwilioServer, callback: str = "https://lim.example.org") -> TwilioSettings:
    return TwilioSettings(account_sid="AC42", auth_token="tok", from_number="+15550000000",
                          base_url=server.url, timeout_seconds=5, callback_base_url=callback)


def _client(server, http, token: str = "tok", timeout: float = 5.0) -> Client:
    return Client("AC42", token, http_client=TwilioHttpClient(http, server.url, timeout))


def _sms(server, http, clock, **kw) -> TwilioSmsChannel:
    gate = ContactRateGate(timedelta(minutes=1), clock)
    return TwilioSmsChannel(_client(server, http, **kw), _settings(server), gate, clock)


def sms_page(key: str = "k1", number: int = 42, **kw):
    return page(key=key, number=number, kind=TargetKind.SMS, address="+15551230000", **kw)


async def test_sms_is_concise_with_short_id_and_reply_codes(twilio, http, clock):
    receipt = await _sms(twilio, http, clock).send(sms_page())
    [message] = twilio.messages
    expected = base64.b64encode(b"AC42:tok").decode()
    assert twilio.received[0].headers["Authorization"] == f"Basic {expected}"
    assert message["To"] == "+15551230000" and message["From"] == "+15550000000"
    assert message["Body"].startswith("P1 #42 Checkout 5xx")
    assert "'42 ack'" in message["Body"] and len(message["Body"]) <= 160
    assert receipt.provider_message_id.startswith("SM")


async def test_second_sms_within_a_minute_is_held_then_bundled(twilio, http, clock):
    channel = _sms(twilio, http, clock)
    await channel.send(sms_page("k1", 41))
    with pytest.raises(DeliveryDeferred) as held:
        await channel.send(sms_page("k2", 42))
    assert held.value.retry_after == 60.0
    clock.advance(seconds=20)
    with pytest.raises(DeliveryDeferred) as held_again:
        await channel.send(sms_page("k3", 43))
    assert held_again.value.retry_after == 40.0
    clock.advance(seconds=40)
    receipt = await channel.send(sms_page("k3", 43))
    assert len(twilio.messages) == 2
    assert twilio.messages[1]["Body"].startswith("2 pages: #42 #43")
    assert [b.idempotency_key for b in receipt.bundled] == ["k2"]


async def test_invalid_number_is_permanent(twilio, http, clock):
    with pytest.raises(DeliveryError) as err:
        await _sms(twilio, http, clock).send(
            page(kind=TargetKind.SMS, address="5551230000"))
    assert err.value.retryable is False


async def test_wrong_credentials_are_permanent(twilio, http, clock):
    with pytest.raises(DeliveryError) as err:
        await _sms(twilio, http, clock, token="wrong").send(sms_page())
    assert err.value.retryable is False


async def test_throttled_sms_is_retryable_with_retry_after_and_frees_the_window(
        twilio, http, clock):
    channel = _sms(twilio, http, clock)
    twilio.fail(429, times=1, retry_after=5)
    with pytest.raises(DeliveryError) as err:
        await channel.send(sms_page())
    assert err.value.retryable is True and err.value.retry_after == 5.0
    await channel.send(sms_page())  # the failed attempt did not use up the rate window
    assert len(twilio.messages) == 1


async def test_hanging_twilio_times_out_as_retryable(twilio, http, clock):
    twilio.hang()
    with pytest.raises(DeliveryError) as err:
        await _sms(twilio, http, clock, timeout=0.3).send(sms_page())
    assert err.value.retryable is True


async def test_voice_call_reads_title_and_gathers_one_key(twilio, http):
    channel = TwilioVoiceChannel(_client(twilio, http), _settings(twilio))
    await channel.send(page(kind=TargetKind.VOICE, address="+15551230000"))
    [call] = twilio.calls
    twiml = call["Twiml"]
    assert '<Gather action="https://lim.example.org/twilio/voice/gather?incident=inc-42' in twiml
    assert 'numDigits="1"' in twiml
    assert "Checkout 5xx rate above 5%" in twiml
    assert "Press 1 to acknowledge. Press 2 to escalate." in twiml


async def test_voice_without_public_callback_still_reads_the_page(twilio, http):
    channel = TwilioVoiceChannel(_client(twilio, http), _settings(twilio, callback=""))
    await channel.send(page(kind=TargetKind.VOICE, address="+15551230000"))
    twiml = twilio.calls[0]["Twiml"]
    assert "<Gather" not in twiml and "Checkout 5xx" in twiml
