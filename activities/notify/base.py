"""The channel contract: one required method, optional capabilities, errors that say whether
retrying helps, and their mapping to Temporal's `ApplicationError`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

from temporalio.exceptions import ApplicationError

from workflows.domain.notifications import (
    BundledPage,
    ContactTarget,
    DeliveryErrorType,
    DeliveryReceipt,
    Notification,
)

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


@runtime_checkable
class Channel(Protocol):
    """Delivers one notification or raises `DeliveryError`. Must not retry by itself."""

    kind: str

    async def send(self, n: Notification) -> DeliveryReceipt: ...


@runtime_checkable
class UpdatesInPlace(Protocol):
    """A channel that can edit the first message of an incident (`n.thread_ref`) in place."""

    async def update_in_place(self, n: Notification) -> None: ...


class DeliveryError(Exception):
    """A delivery that did not happen. `retryable` says whether trying again may help;
    `retry_after` (seconds) is the provider's own hint (429 Retry-After)."""

    error_type = DeliveryErrorType.FAILED

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after

    @property
    def counts_against_channel(self) -> bool:
        """Whether this failure says the channel (not this one target) is unhealthy."""
        return self.retryable

    @property
    def type_name(self) -> str:
        return (self.error_type if self.retryable else DeliveryErrorType.REJECTED).value


class DeliveryDeferred(DeliveryError):
    """Held back by our own per-person rate limit; the retry after `retry_after` sends it
    bundled with whatever arrived meanwhile. Not a channel failure."""

    error_type = DeliveryErrorType.DEFERRED

    def __init__(self, message: str, retry_after: float):
        super().__init__(message, retryable=True, retry_after=retry_after)

    @property
    def counts_against_channel(self) -> bool:
        return False


class CircuitOpen(DeliveryError):
    """The channel failed for everyone recently: skip it so the fallback fires at once."""

    error_type = DeliveryErrorType.CIRCUIT_OPEN

    def __init__(self, channel: str):
        super().__init__(f"circuit open for channel {channel}", retryable=False)

    @property
    def type_name(self) -> str:
        return DeliveryErrorType.CIRCUIT_OPEN.value

    @property
    def counts_against_channel(self) -> bool:
        return False


def to_application_error(err: DeliveryError) -> ApplicationError:
    """The Temporal failure for `err`: non-retryable when retrying cannot help, with the
    provider's backoff hint as `next_retry_delay`."""
    delay = timedelta(seconds=err.retry_after) if err.retry_after else None
    return ApplicationError(
        err.message, type=err.type_name, non_retryable=not err.retryable, next_retry_delay=delay
    )


def error_for_status(status: int, body: str = "", retry_after: str | None = None) -> DeliveryError:
    """Classify a provider HTTP error: 429/408/5xx may pass, other 4xx never will."""
    hint = parse_retry_after(retry_after)
    text = f"HTTP {status}: {body[:200]}"
    if status == 429:
        return DeliveryError(text, retryable=True, retry_after=hint)
    if status == 408 or status >= 500:
        return DeliveryError(text, retryable=True, retry_after=hint)
    return DeliveryError(text, retryable=False)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds form; HTTP dates are rare here)."""
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def timeout_error(channel: str, exc: BaseException) -> DeliveryError:
    return DeliveryError(f"{channel}: no answer in time ({type(exc).__name__})", retryable=True)


def make_receipt(
    channel: str,
    target: ContactTarget,
    provider_message_id: str,
    clock: Clock = utcnow,
    thread_ref: str | None = None,
    bundled: list[BundledPage] | None = None,
) -> DeliveryReceipt:
    return DeliveryReceipt(
        channel=channel, target=target, provider_message_id=provider_message_id,
        delivered_at=clock(), thread_ref=thread_ref, bundled=bundled or [],
    )
