"""Schedules: rotations, restrictions, layers, overrides, follow-the-sun."""

from datetime import UTC, date, datetime, timedelta

import pytest

from workflows.domain.config_types import TimeWindow
from workflows.domain.schedule_model import Layer, Override, Rotation, Schedule
from workflows.domain.schedules import gaps_between, oncall_at, shifts_between


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def weekly(**extra) -> Layer:
    fields = {"id": "primary", "rotation": Rotation.WEEKLY, "start": date(2025, 1, 6),
              "participants": ["alice", "bob", "carol"]}
    fields.update(extra)
    return Layer(**fields)


def test_weekly_rotation_hands_off_to_the_next_participant_at_the_handoff_time():
    schedule = Schedule(id="s", layers=[weekly()])
    assert oncall_at(schedule, at("2025-01-06T09:00")) == ["alice"]
    assert oncall_at(schedule, at("2025-01-13T08:59")) == ["alice"]
    assert oncall_at(schedule, at("2025-01-13T09:00")) == ["bob"]
    assert oncall_at(schedule, at("2025-01-27T09:00")) == ["alice"]


def test_nobody_is_on_call_before_the_first_shift():
    schedule = Schedule(id="s", layers=[weekly()])
    assert oncall_at(schedule, at("2025-01-06T08:59")) == []
    assert gaps_between(schedule, at("2025-01-06T00:00"), at("2025-01-07T00:00"))[0].end == at(
        "2025-01-06T09:00"
    )


def test_length_rotation_counts_elapsed_time():
    layer = Layer(id="l", length="12h", start=date(2025, 1, 1), handoff="08:00",
                  participants=["a", "b"])
    schedule = Schedule(id="s", layers=[layer])
    shifts = shifts_between(schedule, at("2025-01-01T08:00"), at("2025-01-02T20:00"))
    assert [(s.user_id, s.start.hour) for s in shifts] == [("a", 8), ("b", 20), ("a", 8)]


def test_hourly_rotation_hands_off_every_hour():
    layer = Layer(id="l", rotation="hourly", start=date(2025, 1, 1), handoff="00:00",
                  participants=["a", "b", "c"])
    schedule = Schedule(id="s", layers=[layer])
    assert oncall_at(schedule, at("2025-01-01T05:30")) == ["c"]


def test_one_person_rotation_is_merged_into_one_shift():
    schedule = Schedule(id="s", layers=[weekly(participants=["solo"])])
    shifts = shifts_between(schedule, at("2025-02-01T00:00"), at("2025-03-01T00:00"))
    assert len(shifts) == 1 and shifts[0].duration == timedelta(days=28)


def test_restricted_layer_is_empty_outside_its_windows_so_the_lower_layer_shows():
    business = weekly(id="day", participants=["dora"],
                      restrictions=[TimeWindow(days="mon-fri", start="09:00", end="17:00")])
    base = weekly(id="base", participants=["nick"])
    schedule = Schedule(id="s", layers=[base, business])
    assert oncall_at(schedule, at("2025-01-08T10:00")) == ["dora"]  # Wednesday
    assert oncall_at(schedule, at("2025-01-08T18:00")) == ["nick"]
    assert oncall_at(schedule, at("2025-01-11T10:00")) == ["nick"]  # Saturday


def test_restriction_window_past_midnight_covers_the_night():
    night = weekly(participants=["owl"], restrictions=[TimeWindow(start="22:00", end="06:00")])
    schedule = Schedule(id="s", layers=[night])
    assert oncall_at(schedule, at("2025-01-08T23:00")) == ["owl"]
    assert oncall_at(schedule, at("2025-01-09T05:59")) == ["owl"]
    assert oncall_at(schedule, at("2025-01-09T12:00")) == []


def test_restrictions_use_the_layer_time_zone():
    layer = weekly(time_zone="Asia/Tokyo", handoff="00:00", participants=["kenji"],
                   restrictions=[TimeWindow(start="09:00", end="17:00")])
    schedule = Schedule(id="s", layers=[layer])
    assert oncall_at(schedule, at("2025-01-08T00:00")) == ["kenji"]  # 09:00 in Tokyo
    assert oncall_at(schedule, at("2025-01-08T08:00")) == []  # 17:00 in Tokyo


def test_override_replaces_whoever_is_on_and_fills_gaps():
    layer = weekly(participants=["alice"], restrictions=[TimeWindow(start="09:00", end="17:00")])
    override = Override(user="zoe", start=at("2025-01-08T12:00"), end=at("2025-01-08T20:00"))
    schedule = Schedule(id="s", layers=[layer], overrides=[override])
    assert oncall_at(schedule, at("2025-01-08T11:59")) == ["alice"]
    assert oncall_at(schedule, at("2025-01-08T12:00")) == ["zoe"]
    assert oncall_at(schedule, at("2025-01-08T19:00")) == ["zoe"]
    assert oncall_at(schedule, at("2025-01-08T20:00")) == []
    layers = [s.layer for s in shifts_between(schedule, at("2025-01-08T00:00"),
                                              at("2025-01-09T00:00"))]
    assert layers == ["primary", "override"]


def test_layer_override_is_still_beaten_by_a_higher_layer():
    low = weekly(id="low", participants=["alice"])
    high = weekly(id="high", participants=["henry"],
                  restrictions=[TimeWindow(start="12:00", end="13:00")])
    swap = Override(user="zoe", layer="low", start=at("2025-01-08T10:00"),
                    end=at("2025-01-08T14:00"))
    schedule = Schedule(id="s", layers=[low, high], overrides=[swap])
    assert oncall_at(schedule, at("2025-01-08T10:30")) == ["zoe"]
    assert oncall_at(schedule, at("2025-01-08T12:30")) == ["henry"]
    assert oncall_at(schedule, at("2025-01-08T14:30")) == ["alice"]


def follow_the_sun() -> Schedule:
    def region(name, people, start, end):
        return Layer(id=name, rotation="weekly", start=date(2025, 1, 6), handoff="00:00",
                     participants=people, restrictions=[TimeWindow(start=start, end=end)])

    return Schedule(id="fts", layers=[
        region("apac", ["aki", "ana"], "00:00", "08:00"),
        region("emea", ["eva", "emil"], "08:00", "16:00"),
        region("amer", ["ann", "abe"], "16:00", "24:00"),
    ])


def test_follow_the_sun_passes_the_pager_around_the_world_every_day():
    schedule = follow_the_sun()
    assert oncall_at(schedule, at("2025-01-07T03:00")) == ["aki"]
    assert oncall_at(schedule, at("2025-01-07T09:00")) == ["eva"]
    assert oncall_at(schedule, at("2025-01-07T23:59")) == ["ann"]
    assert oncall_at(schedule, at("2025-01-14T03:00")) == ["ana"]


def test_follow_the_sun_has_no_gaps_and_three_shifts_a_day():
    schedule = follow_the_sun()
    start, end = at("2025-01-07T00:00"), at("2025-01-08T00:00")
    assert gaps_between(schedule, start, end) == []
    shifts = shifts_between(schedule, start, end)
    assert [s.duration for s in shifts] == [timedelta(hours=8)] * 3


def test_naive_datetimes_are_refused():
    schedule = Schedule(id="s", layers=[weekly()])
    with pytest.raises(ValueError, match="timezone-aware"):
        oncall_at(schedule, datetime(2025, 1, 6, 12))
