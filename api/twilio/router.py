"""FastAPI routes Twilio calls: POST /twilio/sms and POST /twilio/voice/gather.

Every request must carry a valid `X-Twilio-Signature` (HMAC-SHA1 of the public URL plus the
sorted form fields, keyed by the auth token; checked with Twilio's own RequestValidator), else
403. Numbers not linked to a responder are refused. Answers are TwiML.
"""

from __future__ import annotations

from typing import Protocol
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from activities.notify.twilio_channels import VOICE_GATHER_PATH
from api.actions import IncidentActions
from api.slack.commands import perform
from api.twilio.replies import DIGITS, HELP, command_for, parse_sms
from infra.settings.notify import TwilioSettings
from workflows.domain.base import Actor

SMS_PATH = "/twilio/sms"
UNKNOWN_NUMBER = "This number is not linked to a responder."


class PhoneDirectory(Protocol):
    def actor_for_phone(self, number: str) -> Actor | None: ...


class RecentPages(Protocol):
    async def latest_page_to(self, address: str) -> str | None: ...


class StaticPhones:
    def __init__(self, mapping: dict[str, Actor]):
        self._mapping = dict(mapping)

    def actor_for_phone(self, number: str) -> Actor | None:
        return self._mapping.get(number)


def _twiml(body: str) -> Response:
    return Response(content=body, media_type="application/xml")


def _sms_answer(text: str) -> Response:
    reply = MessagingResponse()
    reply.message(text)
    return _twiml(str(reply))


def _voice_answer(text: str) -> Response:
    reply = VoiceResponse()
    reply.say(text)
    return _twiml(str(reply))


def twilio_router(settings: TwilioSettings, actions: IncidentActions, phones: PhoneDirectory,
                  pages: RecentPages) -> APIRouter:
    if settings.auth_token is None:
        raise ValueError("Twilio webhooks need notify.twilio.auth_token")
    validator = RequestValidator(settings.auth_token.get_secret_value())
    router = APIRouter()

    async def signed_form(request: Request) -> dict[str, str] | None:
        form = dict(parse_qsl((await request.body()).decode()))
        url = str(request.url)
        if settings.callback_base_url:  # behind a proxy: Twilio signed the public URL
            query = f"?{request.url.query}" if request.url.query else ""
            url = settings.callback_base_url.rstrip("/") + request.url.path + query
        signature = request.headers.get("X-Twilio-Signature", "")
        return form if validator.validate(url, form, signature) else None

    @router.post(SMS_PATH, include_in_schema=False)
    async def inbound_sms(request: Request) -> Response:
        form = await signed_form(request)
        if form is None:
            return Response(status_code=403)
        actor = phones.actor_for_phone(form.get("From", ""))
        if actor is None:
            return _sms_answer(UNKNOWN_NUMBER)
        parsed = parse_sms(form.get("Body", ""))
        if parsed is None:
            return _sms_answer(HELP)
        verb, ref = parsed
        ref = ref or await pages.latest_page_to(form["From"])
        if ref is None:
            return _sms_answer("No recent page to this number. " + HELP)
        request_id = f"twilio-sms:{form.get('MessageSid', '')}"
        return _sms_answer(await perform(actions, command_for(verb, ref), actor, request_id))

    @router.post(VOICE_GATHER_PATH, include_in_schema=False)
    async def voice_gather(request: Request) -> Response:
        form = await signed_form(request)
        if form is None:
            return Response(status_code=403)
        # On our outbound call the responder is the callee ("To").
        outbound = form.get("Direction", "outbound-api").startswith("outbound")
        actor = phones.actor_for_phone(form.get("To" if outbound else "From", ""))
        verb = DIGITS.get(form.get("Digits", ""))
        incident = request.query_params.get("incident", "")
        if actor is None:
            return _voice_answer(UNKNOWN_NUMBER)
        if verb is None or not incident:
            return _voice_answer("Key not recognised. Goodbye.")
        request_id = f"twilio-call:{form.get('CallSid', '')}:{form.get('Digits')}"
        return _voice_answer(await perform(actions, command_for(verb, incident), actor,
                                           request_id))

    return router
