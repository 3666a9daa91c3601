"""Settings for notification channels. Secrets are SecretStr and never enter workflow history.

Each channel has its own strict group; the group is also that channel's config model. Base
URLs are settings so that tests (and air-gapped relays) can point the official SDKs elsewhere.
Env example: `LIM_NOTIFY__SLACK__BOT_TOKEN=xoxb-...`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class _Group(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SlackSettings(_Group):
    bot_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    base_url: str = "https://slack.com/api/"
    timeout_seconds: float = 10.0


class SmtpSettings(_Group):
    host: str = "127.0.0.1"
    port: int = 25
    username: str = ""
    password: SecretStr | None = None
    starttls: bool = False
    sender: str = "lim@localhost"
    timeout_seconds: float = 10.0


class SendGridSettings(_Group):
    api_key: SecretStr | None = None
    host: str = "https://api.sendgrid.com"
    sender: str = "lim@localhost"
    timeout_seconds: float = 10.0


class TwilioSettings(_Group):
    account_sid: str = ""
    auth_token: SecretStr | None = None
    from_number: str = ""
    base_url: str = "https://api.twilio.com"
    timeout_seconds: float = 10.0
    # Public URL Twilio calls back for voice key presses and inbound SMS. Empty = voice calls
    # still read the page but cannot take a key press (no public callback needed).
    callback_base_url: str = ""


class PagerDutySettings(_Group):
    events_url: str = "https://events.pagerduty.com/v2/enqueue"
    routing_keys: dict[str, SecretStr] = Field(default_factory=dict)
    timeout_seconds: float = 10.0


class TeamsSettings(_Group):
    # name -> incoming webhook URL (the URL embeds its secret, so it is a SecretStr).
    webhooks: dict[str, SecretStr] = Field(default_factory=dict)
    timeout_seconds: float = 10.0


class WebhookEndpoint(_Group):
    url: str
    secret: SecretStr


class WebhookSettings(_Group):
    endpoints: dict[str, WebhookEndpoint] = Field(default_factory=dict)
    timeout_seconds: float = 10.0


class DeliverySettings(_Group):
    """Circuit breaker and per-person rate limit shared by every channel in a worker."""

    breaker_failure_threshold: int = 5
    breaker_cooldown_seconds: float = 30.0
    sms_rate_window_seconds: float = 60.0


class NotifySettings(BaseModel):
    enabled_channels: list[str] = ["webhook", "recording"]
    email_transport: str = "smtp"  # smtp | sendgrid: which one backs the "email" channel
    slack: SlackSettings = SlackSettings()
    smtp: SmtpSettings = SmtpSettings()
    sendgrid: SendGridSettings = SendGridSettings()
    twilio: TwilioSettings = TwilioSettings()
    pagerduty: PagerDutySettings = PagerDutySettings()
    teams: TeamsSettings = TeamsSettings()
    webhook: WebhookSettings = WebhookSettings()
    delivery: DeliverySettings = DeliverySettings()
