"""SMS and voice through Twilio's official SDK (`twilio.rest.Client` with our http client).

SMS: concise text with the short id (#42) and reply codes; at most one SMS per person per
rate window, pages arriving meanwhile are held (`DeliveryDeferred`) and bundled into the next.
Voice: TwiML reads the title, then "press 1 to acknowledge, 2 to escalate"; the key press
comes back to `api/twilio` at `callback_base_url`. Without a public callback URL the call
still reads the page and says how to acknowledge elsewhere (voice needs no inbound path).
"""

from __future__ import annotations

from urllib.parse import urlencode

from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client
from twilio.twiml.voice_response import Gather, VoiceResponse

from activities.notify.base import Clock, DeliveryDeferred, DeliveryError, make_receipt, utcnow
from activities.notify.guards import ContactRateGate
from infra.settings.notify import TwilioSettings
from workflows.domain.notifications import (
    BundledPage,
    DeliveryReceipt,
    Notification,
    render_sms,
    render_voice_script,
)

VOICE_GATHER_PATH = "/twilio/voice/gather"
# Twilio error codes that mean "this number can never receive it" (GoAlert#1600).
_PERMANENT_CODES = {21211, 21610, 21612, 21614, 21408, 13224, 21217}


def _twilio_error(exc: TwilioRestException) -> DeliveryError:
    message = f"twilio: HTTP {exc.status} code {exc.code}: {exc.msg}"
    if exc.code in _PERMANENT_CODES:
        return DeliveryError(message, retryable=False)
    return DeliveryError(message, retryable=exc.status >= 500 or exc.status == 408)


class TwilioSmsChannel:
    kind = "sms"

    def __init__(self, client: Client, config: TwilioSettings, gate: ContactRateGate,
                 clock: Clock = utcnow):
        self._client = client
        self._config = config
        self._gate = gate
        self._clock = clock

    async def send(self, n: Notification) -> DeliveryReceipt:
        decision, bundle = await self._gate.admit(n)
        if not decision.send_now:
            raise DeliveryDeferred(f"sms to {n.target.address} held for bundling",
                                   retry_after=decision.wait.total_seconds())
        try:
            message = await self._client.messages.create_async(
                to=n.target.address, from_=self._config.from_number, body=render_sms(bundle))
        except TwilioRestException as exc:
            await self._gate.give_back(bundle)
            raise _twilio_error(exc) from exc
        except DeliveryError:
            await self._gate.give_back(bundle)
            raise
        bundled = [BundledPage(idempotency_key=p.idempotency_key, incident_id=p.incident_id,
                               incident_number=p.incident_number)
                   for p in bundle if p.idempotency_key != n.idempotency_key]
        return make_receipt(self.kind, n.target, message.sid, self._clock, bundled=bundled)


class TwilioVoiceChannel:
    kind = "voice"

    def __init__(self, client: Client, config: TwilioSettings, clock: Clock = utcnow):
        self._client = client
        self._config = config
        self._clock = clock

    def twiml(self, n: Notification) -> str:
        """The call script. Key presses post to the gather URL, which names the incident."""
        response = VoiceResponse()
        script = render_voice_script(n)
        base = self._config.callback_base_url.rstrip("/")
        if not base:
            response.say(f"{script} Acknowledge by text message or in chat.")
            return str(response)
        query = urlencode({"incident": n.incident_id, "key": n.idempotency_key})
        gather = Gather(num_digits=1, action=f"{base}{VOICE_GATHER_PATH}?{query}",
                        method="POST", timeout=10)
        gather.say(f"{script} Press 1 to acknowledge. Press 2 to escalate.")
        response.append(gather)
        response.say("No key pressed. Goodbye.")
        return str(response)

    async def send(self, n: Notification) -> DeliveryReceipt:
        try:
            call = await self._client.calls.create_async(
                to=n.target.address, from_=self._config.from_number, twiml=self.twiml(n))
        except TwilioRestException as exc:
            raise _twilio_error(exc) from exc
        return make_receipt(self.kind, n.target, call.sid, self._clock)
