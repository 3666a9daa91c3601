"""Guards shared across incidents: a circuit breaker per channel (per worker process: state
lost on restart only costs one extra probe) and a rate gate per contact address (its window is
shared by every worker through `SendWindows`, the database in production). Both take an
injected clock so tests move time."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from activities.notify.base import Clock, utcnow
from workflows.domain.notifications import Notification, RateDecision, rate_decision


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Opens after `failure_threshold` consecutive failures; after `cooldown` seconds lets one
    probe through (half-open); the probe's success closes it, its failure re-opens it.

    A probe that never reports (worker crashed mid-send) frees the slot after another cooldown.
    """

    def __init__(
        self, failure_threshold: int, cooldown: float, clock: Callable[[], float] = time.monotonic
    ):
        self._threshold = failure_threshold
        self._cooldown = cooldown
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probe_started_at: float | None = None

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at >= self._cooldown:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def allow(self) -> bool:
        """Whether a send may go out now. In half-open state only one probe at a time."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.OPEN:
            return False
        now = self._clock()
        if self._probe_started_at is not None and now - self._probe_started_at < self._cooldown:
            return False
        self._probe_started_at = now
        return True

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._probe_started_at = None

    def record_failure(self) -> None:
        self._failures += 1
        if self._probe_started_at is not None or self._failures >= self._threshold:
            self._opened_at = self._clock()
            self._probe_started_at = None


class Breakers:
    """One breaker per channel kind, created on first use with the same settings."""

    def __init__(
        self, failure_threshold: int, cooldown: float, clock: Callable[[], float] = time.monotonic
    ):
        self._make = lambda: CircuitBreaker(failure_threshold, cooldown, clock)
        self._by_channel: dict[str, CircuitBreaker] = {}

    def for_channel(self, channel: str) -> CircuitBreaker:
        if channel not in self._by_channel:
            self._by_channel[channel] = self._make()
        return self._by_channel[channel]


class SendWindows(Protocol):
    """Where "the last message to this address went out at" lives: a conditional reservation.

    `reserve` claims the window for `address` at `now` and returns None, or returns when the
    current window started (someone sent less than `window` ago). `release` undoes a
    reservation made at `at` whose message failed.
    """

    async def reserve(self, address: str, now: datetime, window: timedelta) -> datetime | None: ...

    async def release(self, address: str, at: datetime) -> None: ...


class LocalSendWindows:
    """This process only: enough for one worker and for tests."""

    def __init__(self) -> None:
        self._last_sent: dict[str, datetime] = {}

    async def reserve(self, address: str, now: datetime, window: timedelta) -> datetime | None:
        last = self._last_sent.get(address)
        if last is not None and now - last < window:
            return last
        self._last_sent[address] = now
        return None

    async def release(self, address: str, at: datetime) -> None:
        if self._last_sent.get(address) == at:
            del self._last_sent[address]


class ContactRateGate:
    """At most one message per `window` per address, across every worker sharing `windows`;
    pages arriving meanwhile are held and ride along in this worker's next message (bundling).
    A held page whose own retry lands on another worker is sent there when the window allows:
    less bundling, never more messages. The policy is `notifications.rate_decision`."""

    def __init__(self, window: timedelta, clock: Clock = utcnow,
                 windows: SendWindows | None = None):
        self._window = window
        self._clock = clock
        self._windows = windows or LocalSendWindows()
        self._reserved: dict[str, datetime] = {}
        self._held: dict[str, dict[str, Notification]] = {}

    async def admit(self, n: Notification) -> tuple[RateDecision, list[Notification]]:
        """Decide for `n`. When it may go now, returns the bundle to send (held pages first,
        `n` last) and reserves the window; otherwise holds `n` and returns the wait."""
        address = n.target.address
        now = self._clock()
        last = await self._windows.reserve(address, now, self._window)
        decision = rate_decision(last, now, self._window)
        held = self._held.setdefault(address, {})
        if not decision.send_now:
            held[n.idempotency_key] = n
            return decision, []
        bundle = [p for k, p in held.items() if k != n.idempotency_key] + [n]
        held.clear()
        self._reserved[address] = now
        return decision, bundle

    async def give_back(self, bundle: list[Notification]) -> None:
        """A bundle failed to send: free the window and hold its pages for the next try."""
        if not bundle:
            return
        address = bundle[-1].target.address
        reserved = self._reserved.pop(address, None)
        if reserved is not None:
            await self._windows.release(address, reserved)
        held = self._held.setdefault(address, {})
        for page in bundle:
            held.setdefault(page.idempotency_key, page)
