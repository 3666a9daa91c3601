"""The dispatcher's limit on new incident starts: a token bucket on an injected clock."""

from __future__ import annotations

from api.dispatcher import StartRate


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_starts_at_once_then_queues_at_the_rate():
    clock = Clock()
    rate = StartRate(per_second=10, burst=3, clock=clock)
    assert [rate.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert [round(rate.reserve(), 3) for _ in range(3)] == [0.1, 0.2, 0.3]


def test_tokens_come_back_with_time_up_to_the_burst():
    clock = Clock()
    rate = StartRate(per_second=10, burst=2, clock=clock)
    rate.reserve(), rate.reserve()
    clock.now += 60
    assert [rate.reserve() for _ in range(2)] == [0.0, 0.0]
    assert round(rate.reserve(), 3) == 0.1


def test_zero_means_unlimited():
    rate = StartRate(per_second=0, burst=1, clock=Clock())
    assert [rate.reserve() for _ in range(1000)] == [0.0] * 1000
