"""The small value types schedules and policies are written in: durations, clock times, days."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from workflows.domain.config import EscalationStep, NotificationRule
from workflows.domain.config_types import (
    TimeWindow,
    Weekday,
    format_duration,
    parse_clock,
    parse_duration,
    parse_weekdays,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("20s", timedelta(seconds=20)), ("5m", timedelta(minutes=5)), ("1h", timedelta(hours=1)),
     ("1h30m", timedelta(minutes=90)), ("0m", timedelta(0)), ("2d", timedelta(days=2)),
     ("1w", timedelta(weeks=1)), (90, timedelta(seconds=90))],
)
def test_durations_parse_from_their_short_spelling(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "5", "m5", "5 minutes", "1m1h", "-5m", True])
def test_malformed_durations_are_refused_with_the_accepted_spelling(text):
    with pytest.raises(ValueError, match="20s, 5m"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["0m", "20s", "5m", "1h30m", "2d", "1d2h3m4s"])
def test_formatting_a_duration_gives_back_its_spelling(text):
    assert format_duration(parse_duration(text)) == text


def test_durations_in_models_accept_text_and_serialise_to_text():
    step = EscalationStep(after="1h30m", notify=[{"user": "ana"}])
    assert step.after == timedelta(minutes=90)
    assert step.model_dump(mode="json")["after"] == "1h30m"
    assert NotificationRule(method="sms").after == timedelta(0)
    with pytest.raises(ValidationError, match="not a duration"):
        NotificationRule(method="sms", after="soon")


def test_clock_times_accept_24_00_as_the_end_of_the_day():
    assert parse_clock("09:00") == time(9)
    assert parse_clock("24:00") == time(0)
    for bad in ("9", "24:30", "12:60", 900):
        with pytest.raises(ValueError):
            parse_clock(bad)


def test_weekday_ranges_and_aliases():
    assert parse_weekdays("mon-fri") == [Weekday(d) for d in ("mon", "tue", "wed", "thu", "fri")]
    assert parse_weekdays("weekends") == [Weekday.SAT, Weekday.SUN]
    assert parse_weekdays("fri-mon") == [Weekday.FRI, Weekday.SAT, Weekday.SUN, Weekday.MON]
    assert parse_weekdays(["Wed"]) == [Weekday.WED]


def test_a_window_from_noon_to_noon_is_a_whole_day_and_respects_the_zone():
    window = TimeWindow(days="mon", start="12:00", end="12:00")
    berlin = ZoneInfo("Europe/Berlin")
    monday_noon_berlin = datetime(2025, 1, 6, 11, tzinfo=UTC)
    assert window.contains(berlin, monday_noon_berlin)
    assert window.contains(berlin, monday_noon_berlin + timedelta(hours=23, minutes=59))
    assert not window.contains(berlin, monday_noon_berlin + timedelta(hours=24))
    assert not window.contains(berlin, monday_noon_berlin - timedelta(minutes=1))
