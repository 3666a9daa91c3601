"""Handoffs keep their local wall-clock time across DST weekends in Berlin and New York."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from workflows.domain.schedule_model import Layer, Schedule
from workflows.domain.schedules import gaps_between, shifts_between

H = timedelta(hours=1)


def shifts_around(tz: str, day: date, rotation: str, handoff: str, start: date):
    layer = Layer(id="l", rotation=rotation, handoff=handoff, time_zone=tz, start=start,
                  participants=["a", "b"])
    schedule = Schedule(id="s", layers=[layer])
    lo = datetime.combine(day - timedelta(days=10), datetime.min.time(), tzinfo=UTC)
    hi = datetime.combine(day + timedelta(days=10), datetime.min.time(), tzinfo=UTC)
    assert gaps_between(schedule, lo, hi) == []
    return [s for s in shifts_between(schedule, lo, hi) if s.start != lo and s.end != hi]


def shift_starting_on(shifts, tz: str, day: date):
    return next(s for s in shifts if s.start.astimezone(ZoneInfo(tz)).date() == day)


# (zone, transition day, daily handoff, length of the shift that starts the day before it)
DAILY_CASES = [
    ("Europe/Berlin", date(2025, 3, 30), "09:00", 23 * H),
    ("Europe/Berlin", date(2025, 10, 26), "09:00", 25 * H),
    ("America/New_York", date(2025, 3, 9), "09:00", 23 * H),
    ("America/New_York", date(2025, 11, 2), "09:00", 25 * H),
    # 02:30 on the spring day does not exist: that handoff happens at 03:30 local instead.
    ("Europe/Berlin", date(2025, 3, 30), "02:30", 24 * H),
    ("America/New_York", date(2025, 3, 9), "02:30", 24 * H),
    # On the fall day 02:30 is repeated in Berlin (first one is used) and unique in New York.
    ("Europe/Berlin", date(2025, 10, 26), "02:30", 24 * H),
    ("America/New_York", date(2025, 11, 2), "02:30", 25 * H),
]


@pytest.mark.parametrize(("tz", "day", "handoff", "expected"), DAILY_CASES)
def test_daily_handoff_across_dst_changes_the_length_of_exactly_one_shift(tz, day, handoff,
                                                                          expected):
    shifts = shifts_around(tz, day, "daily", handoff, date(2025, 1, 1))
    before = shift_starting_on(shifts, tz, day - timedelta(days=1))
    assert before.duration == expected
    lengths = [s.duration for s in shifts]
    assert sum(1 for length in lengths if length != 24 * H) == 1


@pytest.mark.parametrize(("tz", "day", "handoff", "_"), DAILY_CASES)
def test_daily_handoff_stays_at_its_local_time_when_that_time_exists(tz, day, handoff, _):
    shifts = shifts_around(tz, day, "daily", handoff, date(2025, 1, 1))
    local_starts = {s.start.astimezone(ZoneInfo(tz)).strftime("%H:%M") for s in shifts}
    spring_gap = handoff == "02:30" and day.month == 3
    assert local_starts == ({"02:30", "03:30"} if spring_gap else {handoff})


def test_berlin_spring_forward_skipped_handoff_falls_an_hour_later_and_the_next_is_on_time():
    shifts = shifts_around("Europe/Berlin", date(2025, 3, 30), "daily", "02:30",
                           date(2025, 1, 1))
    sunday = shift_starting_on(shifts, "Europe/Berlin", date(2025, 3, 30))
    assert sunday.start == datetime(2025, 3, 30, 1, 30, tzinfo=UTC)
    assert sunday.duration == 23 * H


@pytest.mark.parametrize(
    ("tz", "day", "handoff", "expected"),
    [
        ("Europe/Berlin", date(2025, 3, 30), "09:00", 7 * 24 * H - H),
        ("Europe/Berlin", date(2025, 10, 26), "09:00", 7 * 24 * H + H),
        ("Europe/Berlin", date(2025, 3, 30), "02:30", 7 * 24 * H),
        ("America/New_York", date(2025, 3, 9), "09:00", 7 * 24 * H - H),
        ("America/New_York", date(2025, 11, 2), "09:00", 7 * 24 * H + H),
        ("America/New_York", date(2025, 11, 2), "02:30", 7 * 24 * H + H),
    ],
)
def test_weekly_handoff_on_a_dst_sunday_keeps_local_time(tz, day, handoff, expected):
    first_sunday = day - timedelta(weeks=4)
    shifts = shifts_around(tz, day, "weekly", handoff, first_sunday)
    week_before = shift_starting_on(shifts, tz, day - timedelta(weeks=1))
    assert week_before.duration == expected
    on_day = shift_starting_on(shifts, tz, day)
    assert on_day.user_id != week_before.user_id
