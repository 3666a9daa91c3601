"""Worker-wide guards shared across incidents: a circuit breaker per channel and a rate gate
per contact address. Both live in the worker process (state is lost on restart, which only
costs one extra probe or one extra SMS); both take an injected clock so tests move time."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum

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


class ContactRateGate:
    """At most one message per `window` per address; pages arriving meanwhile are held and
    ride along in the next message (bundling). The policy itself is the pure
    `workflows.domain.notifications.rate_decision`."""

    def __init__(self, window: timedelta, clock: Clock = utcnow):
        self._window = window
        self._clock = clock
        self._last_sent: dict[str, datetime] = {}
        self._held: dict[str, dict[str, Notification]] = {}

    def admit(self, n: Notification) -> tuple[RateDecision, list[Notification]]:
        """Decide for `n`. When it may go now, returns the bundle to send (held pages first,
        `n` last) and reserves the window; otherwise holds `n` and returns the wait."""
        address = n.target.address
        now = self._clock()
        decision = rate_decision(self._last_sent.get(address), now, self._window)
        held = self._held.setdefault(address, {})
        if not decision.send_now:
            held[n.idempotency_key] = n
            return decision, []
        bundle = [p for k, p in held.items() if k != n.idempotency_key] + [n]
        held.clear()
        self._last_sent[address] = now
        return decision, bundle

    def give_back(self, bundle: list[Notification]) -> None:
        """A bundle failed to send: free the window and hold its pages for the next try."""
        if not bundle:
            return
        address = bundle[-1].target.address
        self._last_sent.pop(address, None)
        held = self._held.setdefault(address, {})
        for page in bundle:
            held.setdefault(page.idempotency_key, page)
