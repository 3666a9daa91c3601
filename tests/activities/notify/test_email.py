from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller

from activities.notify.base import DeliveryError
from activities.notify.email import (
    SendGridEmailChannel,
    SmtpEmailChannel,
    message_id_for,
    sendgrid_client,
)
from infra.settings.notify import SendGridSettings, SmtpSettings
from tests.activities.notify.conftest import page
from tests.vendors.sendgrid import SendGridServer
from workflows.domain.base import Severity
from workflows.domain.notifications import TargetKind, batch_for_digest


class _Inbox:
    def __init__(self) -> None:
        self.envelopes = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.endswith("@invalid.example"):
            return "550 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted"


@pytest.fixture
def smtp_server():
    inbox = _Inbox()
    # aiosmtpd's readiness probe connects to the configured port, so port 0 cannot be used.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def _smtp(port: int) -> SmtpEmailChannel:
    return SmtpEmailChannel(SmtpSettings(host="127.0.0.1", port=port, sender="lim@example.org",
                                         timeout_seconds=5))


async def test_smtp_mail_has_text_and_html_parts_and_a_key_derived_message_id(smtp_server):
    inbox, port = smtp_server
    n = page(kind=TargetKind.EMAIL, address="alice@example.org")
    receipt = await _smtp(port).send(n)
    [envelope] = inbox.envelopes
    mail = message_from_bytes(envelope.content, policy=policy.default)
    assert envelope.rcpt_tos == ["alice@example.org"]
    assert mail["Message-ID"] == message_id_for(n.idempotency_key, "lim@example.org")
    assert receipt.provider_message_id == mail["Message-ID"]
    assert "#42" in mail["Subject"]
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "5xx ratio 7.2%" in text and "<h2>" in html


async def test_smtp_refused_recipient_is_permanent(smtp_server):
    _inbox, port = smtp_server
    with pytest.raises(DeliveryError) as err:
        await _smtp(port).send(page(kind=TargetKind.EMAIL, address="bob@invalid.example"))
    assert err.value.retryable is False


async def test_smtp_server_down_is_retryable():
    with pytest.raises(DeliveryError) as err:
        await _smtp(1).send(page(kind=TargetKind.EMAIL, address="alice@example.org"))
    assert err.value.retryable is True


async def test_low_severity_updates_arrive_as_one_digest_per_period(smtp_server):
    inbox, port = smtp_server
    start = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    items = [(start + timedelta(minutes=m), page(key=f"k{m}", number=m, kind=TargetKind.EMAIL,
                                                 address="team@example.org",
                                                 severity=Severity.LOW))
             for m in (1, 20, 59, 61)]
    digests = batch_for_digest(items, timedelta(hours=1))
    assert [len(d.digest_items) for d in digests] == [3, 1]
    await _smtp(port).send(digests[0])
    mail = message_from_bytes(inbox.envelopes[0].content, policy=policy.default)
    html = mail.get_body(("html",)).get_content()
    assert all(f"#{m}" in html for m in (1, 20, 59)) and "#61" not in html


@pytest.fixture
async def sendgrid():
    async with SendGridServer(api_key="SG.good") as server:
        yield server


def _sendgrid(server: SendGridServer, key: str = "SG.good", timeout: float = 5.0):
    settings = SendGridSettings(api_key=key, host=server.url, sender="lim@example.org",
                                timeout_seconds=timeout)
    return SendGridEmailChannel(sendgrid_client(settings), settings)


async def test_sendgrid_mail_carries_both_parts_and_the_idempotency_key(sendgrid):
    n = page(kind=TargetKind.EMAIL, address="alice@example.org")
    receipt = await _sendgrid(sendgrid).send(n)
    [mail] = sendgrid.mails
    assert sendgrid.received[0].headers["Authorization"] == "Bearer SG.good"
    assert [c["type"] for c in mail["content"]] == ["text/plain", "text/html"]
    assert mail["personalizations"][0]["custom_args"]["idempotency_key"] == n.idempotency_key
    assert mail["headers"]["Message-ID"] == message_id_for(n.idempotency_key, "lim@example.org")
    assert receipt.provider_message_id == "sg-1"


async def test_sendgrid_bad_key_is_permanent(sendgrid):
    with pytest.raises(DeliveryError) as err:
        await _sendgrid(sendgrid, key="SG.bad").send(page(kind=TargetKind.EMAIL, address="a@b.c"))
    assert err.value.retryable is False


async def test_sendgrid_throttle_is_retryable_with_retry_after(sendgrid):
    sendgrid.fail(429, retry_after=9)
    with pytest.raises(DeliveryError) as err:
        await _sendgrid(sendgrid).send(page(kind=TargetKind.EMAIL, address="a@b.c"))
    assert err.value.retryable is True and err.value.retry_after == 9.0


async def test_sendgrid_hang_times_out_as_retryable(sendgrid):
    sendgrid.hang()
    with pytest.raises(DeliveryError) as err:
        await _sendgrid(sendgrid, timeout=0.3).send(page(kind=TargetKind.EMAIL, address="a@b.c"))
    assert err.value.retryable is True
    await asyncio.sleep(0)  # let the server notice the closed connection before teardown
