"""The explicit channel registry and its wiring from settings.

Adding a channel = one module + one line in `REGISTRY`. Clients are constructed once at the
edge (`NotifyClients.from_settings`, called by the worker) and passed in, so channels never
read settings or the environment themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import httpx
from sendgrid import SendGridAPIClient
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.engine import Engine
from twilio.rest import Client as TwilioClient

from activities.notify.activity import NotifyActivities
from activities.notify.base import Channel
from activities.notify.email import SendGridEmailChannel, SmtpEmailChannel, sendgrid_client
from activities.notify.guards import Breakers, ContactRateGate
from activities.notify.ledger import DeliveryLedger
from activities.notify.pagerduty import PagerDutyChannel
from activities.notify.recording import RecordingChannel
from activities.notify.send_windows import SqlSendWindows
from activities.notify.slack import SlackChannel, slack_client
from activities.notify.teams import TeamsChannel
from activities.notify.twilio_channels import TwilioSmsChannel, TwilioVoiceChannel
from activities.notify.twilio_http import TwilioHttpClient
from activities.notify.webhook import WebhookChannel
from infra.settings.notify import NotifySettings


@dataclass(frozen=True)
class NotifyClients:
    """Vendor clients, built once per worker. A client is None when its channel is unused."""

    http: httpx.AsyncClient
    slack: AsyncWebClient | None = None
    twilio: TwilioClient | None = None
    sendgrid: SendGridAPIClient | None = None
    recording: RecordingChannel | None = None

    @classmethod
    def from_settings(cls, settings: NotifySettings, http: httpx.AsyncClient) -> NotifyClients:
        s = settings
        slack = None
        if s.slack.bot_token is not None:
            slack = slack_client(s.slack.bot_token.get_secret_value(), s.slack.base_url,
                                 s.slack.timeout_seconds)
        twilio = None
        if s.twilio.auth_token is not None:
            twilio = TwilioClient(
                s.twilio.account_sid, s.twilio.auth_token.get_secret_value(),
                http_client=TwilioHttpClient(http, s.twilio.base_url, s.twilio.timeout_seconds))
        sendgrid = sendgrid_client(s.sendgrid) if s.sendgrid.api_key is not None else None
        return cls(http=http, slack=slack, twilio=twilio, sendgrid=sendgrid,
                   recording=RecordingChannel())


@dataclass(frozen=True)
class Guards:
    breakers: Breakers
    sms_gate: ContactRateGate

    @classmethod
    def from_settings(cls, settings: NotifySettings, engine: Engine | None = None) -> Guards:
        """With `engine`, the SMS rate window is shared by every worker on that database."""
        d = settings.delivery
        windows = SqlSendWindows(engine) if engine is not None else None
        return cls(Breakers(d.breaker_failure_threshold, d.breaker_cooldown_seconds),
                   ContactRateGate(timedelta(seconds=d.sms_rate_window_seconds),
                                   windows=windows))


def _need(client, name: str):
    if client is None:
        raise ValueError(f"channel {name!r} is enabled but its client is not configured")
    return client


def _email(s: NotifySettings, c: NotifyClients, _g: Guards) -> Channel:
    if s.email_transport == "sendgrid":
        return SendGridEmailChannel(_need(c.sendgrid, "email"), s.sendgrid)
    return SmtpEmailChannel(s.smtp)


ChannelFactory = Callable[[NotifySettings, NotifyClients, Guards], Channel]

REGISTRY: list[tuple[str, ChannelFactory]] = [
    ("slack", lambda s, c, g: SlackChannel(_need(c.slack, "slack"), s.slack.timeout_seconds)),
    ("email", _email),
    ("sms", lambda s, c, g: TwilioSmsChannel(_need(c.twilio, "sms"), s.twilio, g.sms_gate)),
    ("voice", lambda s, c, g: TwilioVoiceChannel(_need(c.twilio, "voice"), s.twilio)),
    ("pagerduty", lambda s, c, g: PagerDutyChannel(c.http, s.pagerduty)),
    ("teams", lambda s, c, g: TeamsChannel(c.http, s.teams)),
    ("webhook", lambda s, c, g: WebhookChannel(c.http, s.webhook)),
    ("recording", lambda s, c, g: c.recording or RecordingChannel()),
]


def build_channels(settings: NotifySettings, clients: NotifyClients,
                   guards: Guards | None = None) -> dict[str, Channel]:
    """The enabled channels by name. Unknown names fail loudly at startup, not at page time."""
    known = dict(REGISTRY)
    unknown = sorted(set(settings.enabled_channels) - set(known))
    if unknown:
        raise ValueError(f"unknown channels {unknown}; known: {sorted(known)}")
    guards = guards or Guards.from_settings(settings)
    return {name: known[name](settings, clients, guards) for name in settings.enabled_channels}


def build_notify_activities(settings: NotifySettings, clients: NotifyClients,
                            engine: Engine, guards: Guards | None = None) -> NotifyActivities:
    """What the worker registers: `Worker(..., activities=[acts.send])`."""
    guards = guards or Guards.from_settings(settings, engine)
    channels = build_channels(settings, clients, guards)
    return NotifyActivities(channels, DeliveryLedger(engine), guards.breakers)
