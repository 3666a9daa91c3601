"""Inbound SMS replies and voice key presses, signed exactly as Twilio signs them."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import SQLModel, create_engine
from twilio.request_validator import RequestValidator

import infra.db.tables.notify  # noqa: F401
from activities.notify.ledger import DeliveryLedger
from api.actions import IncidentSummary
from api.slack.inmemory_actions import InMemoryIncidentActions
from api.twilio.router import StaticPhones, twilio_router
from infra.settings.notify import TwilioSettings
from workflows.domain.base import Actor, ActorKind, Severity
from workflows.domain.lifecycle import IncidentStatus
from workflows.domain.notifications import (
    ContactTarget,
    DeliveryReceipt,
    Notification,
    TargetKind,
)

TOKEN = "twilio-auth-token"
ALICE_PHONE = "+15551230000"
ALICE = Actor(kind=ActorKind.USER, id="alice", name="Alice")
BASE = "http://lim.test"


@pytest.fixture
def actions() -> InMemoryIncidentActions:
    actions = InMemoryIncidentActions()
    for number in (41, 42):
        actions.add(IncidentSummary(id=f"inc-{number}", number=number, title="Disk full",
                                    status=IncidentStatus.TRIGGERED, severity=Severity.HIGH))
    return actions


@pytest.fixture
async def ledger(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path}/t.db")
    SQLModel.metadata.create_all(engine)
    yield DeliveryLedger(engine)
    engine.dispose()


@pytest.fixture
async def api(actions, ledger):
    settings = TwilioSettings(account_sid="AC1", auth_token=TOKEN)
    app = FastAPI()
    app.include_router(twilio_router(settings, actions, StaticPhones({ALICE_PHONE: ALICE}),
                                     ledger))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        yield c


async def post_signed(api, path: str, form: dict[str, str], token: str = TOKEN):
    signature = RequestValidator(token).compute_signature(BASE + path, form)
    return await api.post(path, content=urlencode(form), headers={
        "X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"})


def sms(body: str, sender: str = ALICE_PHONE, sid: str = "SM1") -> dict[str, str]:
    return {"From": sender, "To": "+15550000000", "Body": body, "MessageSid": sid,
            "AccountSid": "AC1"}


async def record_page(ledger: DeliveryLedger, number: int, at: datetime) -> None:
    target = ContactTarget(kind=TargetKind.SMS, address=ALICE_PHONE, user_id="alice")
    n = Notification(idempotency_key=f"k{number}", incident_id=f"inc-{number}",
                     incident_number=number, title="Disk full", severity=Severity.HIGH,
                     target=target)
    await ledger.record_delivery(n, DeliveryReceipt(channel="sms", target=target,
                                                    provider_message_id="SM", delivered_at=at))


async def test_sms_reply_with_number_acknowledges_that_incident(api, actions):
    response = await post_signed(api, "/twilio/sms", sms("42 ack"))
    assert response.status_code == 200 and "<Message>" in response.text
    assert "Alice acknowledged #42" in response.text
    assert actions.log == [("ack", "inc-42", "alice")]


async def test_bare_ack_answers_the_latest_page_to_that_number(api, actions, ledger):
    await record_page(ledger, 41, datetime(2026, 5, 1, 12, 0, tzinfo=UTC))
    await record_page(ledger, 42, datetime(2026, 5, 1, 12, 5, tzinfo=UTC))
    await post_signed(api, "/twilio/sms", sms("ack"))
    assert actions.log == [("ack", "inc-42", "alice")]


async def test_resolve_and_escalate_replies(api, actions):
    await post_signed(api, "/twilio/sms", sms("escalate 41", sid="SM1"))
    await post_signed(api, "/twilio/sms", sms("#41 resolve", sid="SM2"))
    assert actions.log == [("escalate", "inc-41", "alice"), ("resolve", "inc-41", "alice")]


async def test_unknown_number_is_refused(api, actions):
    response = await post_signed(api, "/twilio/sms", sms("42 ack", sender="+19999999999"))
    assert "not linked" in response.text and actions.log == []


async def test_unsigned_sms_is_forbidden(api, actions):
    response = await api.post("/twilio/sms", content=urlencode(sms("42 ack")),
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 403 and actions.log == []


async def test_sms_signed_with_another_token_is_forbidden(api, actions):
    response = await post_signed(api, "/twilio/sms", sms("42 ack"), token="guess")
    assert response.status_code == 403 and actions.log == []


async def test_unreadable_reply_gets_help(api, actions):
    response = await post_signed(api, "/twilio/sms", sms("what is going on"))
    assert "Reply" in response.text and actions.log == []


async def test_voice_press_1_acknowledges_and_2_escalates(api, actions):
    call = {"CallSid": "CA1", "From": "+15550000000", "To": ALICE_PHONE,
            "Direction": "outbound-api", "AccountSid": "AC1"}
    ack = await post_signed(api, "/twilio/voice/gather?incident=inc-42&key=k",
                            {**call, "Digits": "1"})
    esc = await post_signed(api, "/twilio/voice/gather?incident=inc-41&key=k",
                            {**call, "Digits": "2"})
    assert "<Say>" in ack.text and "acknowledged" in ack.text
    assert actions.log == [("ack", "inc-42", "alice"), ("escalate", "inc-41", "alice")]
    assert esc.status_code == 200


async def test_voice_press_with_tampered_incident_is_forbidden(api, actions):
    call = {"CallSid": "CA1", "To": ALICE_PHONE, "Direction": "outbound-api", "Digits": "1"}
    signature = RequestValidator(TOKEN).compute_signature(
        BASE + "/twilio/voice/gather?incident=inc-41", call)
    response = await api.post("/twilio/voice/gather?incident=inc-42", content=urlencode(call),
                              headers={"X-Twilio-Signature": signature,
                                       "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 403 and actions.log == []
