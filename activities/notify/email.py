"""Email channels: plain SMTP (stdlib smtplib in a thread) and SendGrid's v3 API (official SDK).

Both send a text and an HTML part and a `Message-ID` derived from the idempotency key, so a
resend after a crash is recognisable as the same message by mail clients and by us.
Digests (`NotificationKind.DIGEST`, built by `batch_for_digest`) render as one table.
"""

from __future__ import annotations

import asyncio
import hashlib
import smtplib
from email.message import EmailMessage
from urllib.error import URLError

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient

from activities.notify.base import (
    Clock,
    DeliveryError,
    error_for_status,
    make_receipt,
    timeout_error,
    utcnow,
)
from activities.notify.render import email_html, email_subject, email_text
from infra.settings.notify import SendGridSettings, SmtpSettings
from workflows.domain.notifications import DeliveryReceipt, Notification


def message_id_for(idempotency_key: str, sender: str) -> str:
    """A stable RFC 5322 Message-ID for one idempotency key."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    domain = sender.rpartition("@")[2] or "lim.local"
    return f"<{digest}@{domain}>"


def build_email(n: Notification, sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = n.target.address
    msg["Subject"] = email_subject(n)
    msg["Message-ID"] = message_id_for(n.idempotency_key, sender)
    msg["X-LIM-Incident"] = n.incident_id
    msg.set_content(email_text(n))
    msg.add_alternative(email_html(n), subtype="html")
    return msg


class SmtpEmailChannel:
    kind = "email"

    def __init__(self, config: SmtpSettings, clock: Clock = utcnow):
        self._config = config
        self._clock = clock

    async def send(self, n: Notification) -> DeliveryReceipt:
        msg = build_email(n, self._config.sender)
        await asyncio.to_thread(self._deliver, msg)
        return make_receipt(self.kind, n.target, msg["Message-ID"], self._clock)

    def _deliver(self, msg: EmailMessage) -> None:
        c = self._config
        try:
            with smtplib.SMTP(c.host, c.port, timeout=c.timeout_seconds) as smtp:
                if c.starttls:
                    smtp.starttls()
                if c.username and c.password:
                    smtp.login(c.username, c.password.get_secret_value())
                smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"smtp: recipient refused: {exc.recipients}",
                                retryable=False) from exc
        except smtplib.SMTPResponseException as exc:
            # 4xx is "try later", 5xx is final (RFC 5321).
            raise DeliveryError(f"smtp: {exc.smtp_code} {exc.smtp_error!r}",
                                retryable=exc.smtp_code < 500) from exc
        except TimeoutError as exc:
            raise timeout_error("smtp", exc) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"smtp: {exc}", retryable=True) from exc


class SendGridEmailChannel:
    kind = "email"  # same channel as SMTP; `email_transport` picks the provider

    def __init__(self, client: SendGridAPIClient, config: SendGridSettings,
                 clock: Clock = utcnow):
        self._client = client
        self._config = config
        self._clock = clock

    async def send(self, n: Notification) -> DeliveryReceipt:
        body = self.payload(n)
        status, headers = await asyncio.to_thread(self._post, body)
        provider_id = headers.get("X-Message-Id", "") or str(status)
        return make_receipt(self.kind, n.target, provider_id, self._clock)

    def payload(self, n: Notification) -> dict:
        """The v3 mail/send body. `custom_args` come back in SendGrid's event webhooks."""
        sender = self._config.sender
        return {
            "personalizations": [{"to": [{"email": n.target.address}],
                                  "custom_args": {"idempotency_key": n.idempotency_key,
                                                  "incident_id": n.incident_id}}],
            "from": {"email": sender},
            "subject": email_subject(n),
            "content": [{"type": "text/plain", "value": email_text(n)},
                        {"type": "text/html", "value": email_html(n)}],
            "headers": {"Message-ID": message_id_for(n.idempotency_key, sender)},
        }

    def _post(self, body: dict) -> tuple[int, dict]:
        try:
            response = self._client.client.mail.send.post(
                request_body=body, timeout=self._config.timeout_seconds)
        except HTTPError as exc:
            retry_after = (exc.headers or {}).get("Retry-After")
            raise error_for_status(exc.status_code, str(exc.body), retry_after) from exc
        except TimeoutError as exc:
            raise timeout_error("sendgrid", exc) from exc
        except (URLError, OSError) as exc:
            raise DeliveryError(f"sendgrid: transport error: {exc}", retryable=True) from exc
        return response.status_code, dict(response.headers)


def sendgrid_client(config: SendGridSettings) -> SendGridAPIClient:
    key = config.api_key.get_secret_value() if config.api_key else ""
    return SendGridAPIClient(api_key=key, host=config.host)
