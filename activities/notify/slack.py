"""Slack channel via `slack_sdk`'s AsyncWebClient (constructed at the edge, retries off).

First page: `chat.postMessage` to a channel, or to a DM opened with `conversations.open`.
Follow-ups (`n.thread_ref` set): a reply in the incident's thread, then `chat.update` of the
original message so its header and buttons show the current status (no stale Ack button).
Message `metadata` carries the idempotency key, so a message found in Slack can be matched
to the delivery log.
"""

from __future__ import annotations

import asyncio

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from activities.notify.base import Clock, DeliveryError, make_receipt, parse_retry_after, utcnow
from activities.notify.render import slack_blocks
from workflows.domain.notifications import (
    DeliveryReceipt,
    Notification,
    TargetKind,
    headline,
)

# Slack error codes that no retry can fix (the target or our credentials are wrong).
_PERMANENT = {
    "channel_not_found", "not_in_channel", "is_archived", "invalid_auth", "not_authed",
    "account_inactive", "token_revoked", "user_not_found", "users_not_found", "missing_scope",
    "msg_too_long", "invalid_blocks", "cant_update_message", "message_not_found",
}
METADATA_EVENT = "lim_notification"


def slack_client(token: str, base_url: str, timeout: float) -> AsyncWebClient:
    """An AsyncWebClient with the SDK's retry handlers off: Temporal owns retries."""
    return AsyncWebClient(token=token, base_url=base_url, timeout=int(max(1, timeout)),
                          retry_handlers=[])


def split_thread_ref(ref: str) -> tuple[str, str]:
    channel, _, ts = ref.partition(":")
    return channel, ts


class SlackChannel:
    kind = "slack"

    def __init__(self, client: AsyncWebClient, timeout: float = 10.0, clock: Clock = utcnow):
        self._client = client
        self._timeout = timeout
        self._clock = clock

    async def send(self, n: Notification) -> DeliveryReceipt:
        async with _slack_errors():
            if n.thread_ref:
                channel, thread_ts = split_thread_ref(n.thread_ref)
                reply = await self._post(n, channel, thread_ts)
                await self.update_in_place(n)
                return make_receipt(self.kind, n.target, reply, self._clock, n.thread_ref)
            channel = await self._resolve_channel(n)
            ts = await self._post(n, channel, None)
            return make_receipt(self.kind, n.target, ts, self._clock, f"{channel}:{ts}")

    async def update_in_place(self, n: Notification) -> None:
        """Re-render the incident's first message with the current status and buttons."""
        if not n.thread_ref:
            return
        channel, ts = split_thread_ref(n.thread_ref)
        async with _slack_errors():
            await self._call(self._client.chat_update(
                channel=channel, ts=ts, text=headline(n), blocks=slack_blocks(n)))

    async def _resolve_channel(self, n: Notification) -> str:
        if n.target.kind is TargetKind.SLACK_USER:
            opened = await self._call(self._client.conversations_open(users=n.target.address))
            return opened["channel"]["id"]
        return n.target.address

    async def _post(self, n: Notification, channel: str, thread_ts: str | None) -> str:
        metadata = {"event_type": METADATA_EVENT, "event_payload": {
            "idempotency_key": n.idempotency_key, "incident_id": n.incident_id}}
        response = await self._call(self._client.chat_postMessage(
            channel=channel, text=headline(n), blocks=slack_blocks(n),
            thread_ts=thread_ts, metadata=metadata, unfurl_links=False))
        return response["ts"]

    async def _call(self, coro):
        # The SDK's own timeout covers the socket; this one also bounds a server that
        # accepted the connection and then never answers.
        return await asyncio.wait_for(coro, timeout=self._timeout)


class _slack_errors:
    """Translate SDK and transport errors into DeliveryError (retryable or not)."""

    async def __aenter__(self):
        return self

    async def __aexit__(self, exc_type, exc, _tb) -> bool:
        if exc is None or isinstance(exc, DeliveryError):
            return False
        if isinstance(exc, SlackApiError):
            raise _api_error(exc) from exc
        if isinstance(exc, TimeoutError | asyncio.TimeoutError):
            raise DeliveryError("slack: no answer in time", retryable=True) from exc
        if isinstance(exc, aiohttp.ClientError | SlackClientError):
            raise DeliveryError(f"slack: transport error: {exc}", retryable=True) from exc
        return False


def _api_error(exc: SlackApiError) -> DeliveryError:
    response = exc.response
    status = response.status_code
    code = response.get("error", "") if isinstance(response.data, dict) else ""
    message = f"slack: HTTP {status} {code or 'error'}"
    if status == 429 or code == "ratelimited":
        return DeliveryError(message, retryable=True,
                             retry_after=parse_retry_after(response.headers.get("Retry-After")))
    if code in _PERMANENT:
        return DeliveryError(message, retryable=False)
    return DeliveryError(message, retryable=status >= 500 or status == 200)
