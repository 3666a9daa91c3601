"""`notify.send`: deliver one notification through one channel, exactly once per key.

Input `SendNotification(notification, channel)`, output `DeliveryReceipt`. The workflow runs
one such activity per step of a person's fallback chain with `channel_budget(channel)` as
schedule_to_close (see `workflows.domain.notifications`). Failures are `ApplicationError`s
whose `type` is a `DeliveryErrorType`:

* DeliveryFailed   - retryable; Temporal retries (honouring Retry-After) until the budget ends
* DeliveryRejected - non-retryable (bad address, credentials): fall back now
* ChannelCircuitOpen - non-retryable: the channel is failing for everyone; fall back now
* DeliveryDeferred - retryable after the rate window; the retry sends a bundled message
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

from temporalio import activity

from activities.notify.base import (
    Channel,
    CircuitOpen,
    DeliveryError,
    make_receipt,
    to_application_error,
)
from activities.notify.guards import Breakers
from activities.notify.ledger import DeliveryLedger
from workflows.domain.notifications import (
    SEND_ACTIVITY,
    DeliveryErrorType,
    DeliveryReceipt,
    Notification,
    SendNotification,
)


class NotifyActivities:
    """Holds the channels and the worker-wide guards; register `send` on the worker."""

    def __init__(self, channels: Mapping[str, Channel], ledger: DeliveryLedger,
                 breakers: Breakers):
        self._channels = dict(channels)
        self._ledger = ledger
        self._breakers = breakers
        self._key_locks: dict[str, asyncio.Lock] = {}

    @activity.defn(name=SEND_ACTIVITY)
    async def send(self, request: SendNotification) -> DeliveryReceipt:
        """Deliver, or return the earlier receipt (`duplicate=True`) if this key was delivered."""
        try:
            return await self.deliver(request)
        except DeliveryError as err:
            raise to_application_error(err) from err

    async def deliver(self, request: SendNotification) -> DeliveryReceipt:
        """Same as `send` but raising `DeliveryError`: usable outside a Temporal worker."""
        n = request.notification
        channel = self._channels.get(request.channel)
        if channel is None:
            raise DeliveryError(f"channel {request.channel!r} is not enabled", retryable=False)
        lock = self._key_locks.setdefault(n.idempotency_key, asyncio.Lock())
        try:
            async with lock:
                return await self._deliver_once(request.channel, channel, n)
        finally:
            if not lock.locked():
                self._key_locks.pop(n.idempotency_key, None)

    async def _deliver_once(self, name: str, channel: Channel, n: Notification) -> DeliveryReceipt:
        earlier = await self._ledger.delivered(n.idempotency_key)
        if earlier is not None:
            await self._ledger.record_attempt(n, name, "duplicate")
            return make_receipt(earlier.channel, n.target, earlier.provider_message_id,
                                lambda: earlier.delivered_at, earlier.thread_ref).model_copy(
                update={"duplicate": True})
        breaker = self._breakers.for_channel(name)
        if not breaker.allow():
            err = CircuitOpen(name)
            await self._ledger.record_attempt(n, name, "circuit_open", error=err.message,
                                              retryable=False)
            raise err
        return await self._attempt(name, channel, n)

    async def _attempt(self, name: str, channel: Channel, n: Notification) -> DeliveryReceipt:
        breaker = self._breakers.for_channel(name)
        started = time.perf_counter()
        try:
            receipt = await channel.send(n)
        except DeliveryError as err:
            if err.counts_against_channel:
                breaker.record_failure()
            result = _result_of(err)
            await self._ledger.record_attempt(n, name, result, _ms_since(started),
                                              error=err.message, retryable=err.retryable)
            raise
        except Exception as exc:  # a bug or an unmapped SDK error: record it, let Temporal retry
            breaker.record_failure()
            await self._ledger.record_attempt(n, name, "failed", _ms_since(started),
                                              error=repr(exc), retryable=True)
            raise
        breaker.record_success()
        await self._record_success(name, n, receipt, _ms_since(started))
        return receipt

    async def _record_success(self, name: str, n: Notification, receipt: DeliveryReceipt,
                              latency_ms: float) -> None:
        # The delivery row first: it is what stops a retry resending, and the gap between the
        # provider's accept and this insert is the only window where a crash causes a resend.
        await self._ledger.record_delivery(n, receipt)
        await self._ledger.record_attempt(n, name, "delivered", latency_ms,
                                          provider_message_id=receipt.provider_message_id)
        for page in receipt.bundled:
            # A held page rode along: its own retry will find it delivered and stop.
            rode_along = n.model_copy(update=page.model_dump())
            await self._ledger.record_delivery(rode_along, receipt, bundled_into=n.idempotency_key)


def _result_of(err: DeliveryError) -> str:
    return {DeliveryErrorType.DEFERRED.value: "deferred",
            DeliveryErrorType.REJECTED.value: "rejected"}.get(err.type_name, "failed")


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
