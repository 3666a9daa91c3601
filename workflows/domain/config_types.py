"""Small value types the configuration is written in: durations, clock times, weekdays, windows.

Each type parses the readable YAML spelling (`1h30m`, `"09:00"`, `mon-fri`) and serialises back
to it, so `export(load(x))` reads like what a person wrote. Pure: no clock, no I/O.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator, Field, PlainSerializer

from workflows.domain.base import Strict

_DURATION = re.compile(r"(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def parse_duration(value: object) -> timedelta:
    """`20s`, `5m`, `1h30m`, `2d`, `1w` (units in that order) or whole seconds as a number.

    Raises ValueError naming the accepted spelling; `0m` is a valid, zero duration.
    """
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        # ValueError, not TypeError: pydantic turns only ValueError into a located problem.
        message = "a boolean is not a duration; write e.g. 20s, 5m, 1h, 1h30m, 2d"
        raise ValueError(message)  # noqa: TRY004
    if isinstance(value, int) and value >= 0:
        return timedelta(seconds=value)
    text = str(value).strip().replace(" ", "")
    match = _DURATION.fullmatch(text)
    if not text or match is None or not any(match.groups()):
        raise ValueError(f"{value!r} is not a duration; write e.g. 20s, 5m, 1h, 1h30m, 2d")
    weeks, days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The shortest readable spelling (`1h30m`, `0m`); inverse of `parse_duration`."""
    remaining = int(value.total_seconds())
    if remaining == 0:
        return "0m"
    parts = []
    for unit, size in _UNITS:
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]


def parse_clock(value: object) -> time:
    """`"HH:MM"` (24-hour; `24:00` means the end of the day, stored as 00:00)."""
    if isinstance(value, time):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a clock time; write it as \"HH:MM\"")  # noqa: TRY004
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", value.strip())
    if match is None:
        raise ValueError(f"{value!r} is not a clock time; write it as \"HH:MM\", e.g. \"09:00\"")
    hour, minute = int(match.group(1)), int(match.group(2))
    if (hour, minute) == (24, 0):
        return time(0, 0)
    if hour > 23 or minute > 59:
        raise ValueError(f"{value!r} is not a clock time between 00:00 and 24:00")
    return time(hour, minute)


ClockTime = Annotated[
    time,
    BeforeValidator(parse_clock),
    PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str, when_used="json"),
]


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"

    @property
    def index(self) -> int:
        """0 for Monday, like `date.weekday()`."""
        return list(Weekday).index(self)


_ALL_DAYS = list(Weekday)
_DAY_ALIASES = {"weekdays": "mon-fri", "weekends": "sat-sun", "everyday": "mon-sun"}


def parse_weekdays(value: object) -> list[Weekday]:
    """A list of day names, or a range string such as `mon-fri`, `sat-sun`, `weekdays`."""
    if isinstance(value, str):
        text = _DAY_ALIASES.get(value.strip().lower(), value.strip().lower())
        first, sep, last = text.partition("-")
        if not sep:
            return [Weekday(first)]
        start, end = Weekday(first).index, Weekday(last).index
        if end < start:
            return _ALL_DAYS[start:] + _ALL_DAYS[: end + 1]
        return _ALL_DAYS[start : end + 1]
    if isinstance(value, list | tuple):
        return [Weekday(str(v).lower()) if not isinstance(v, Weekday) else v for v in value]
    raise ValueError(f"{value!r} is not a list of weekdays; write e.g. mon-fri or [sat, sun]")


Weekdays = Annotated[list[Weekday], BeforeValidator(parse_weekdays)]


def parse_time_zone(value: object) -> str:
    """An IANA time zone name that this machine's tz database knows (e.g. `Europe/Berlin`)."""
    name = str(value)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        message = f"unknown time zone {name!r}; use an IANA name like Europe/Berlin"
        raise ValueError(message) from exc
    return name


TimeZoneName = Annotated[str, BeforeValidator(parse_time_zone)]


class TimeWindow(Strict):
    """A recurring window on some weekdays, in a time zone given by whoever owns it.

    `end` at or before `start` runs past midnight into the next day; equal means 24 hours.
    """

    days: Weekdays = Field(default_factory=lambda: list(_ALL_DAYS))
    start: ClockTime = time(0, 0)
    end: ClockTime = time(0, 0)

    def occurrences(self, tz: tzinfo, start: datetime, end: datetime) -> list[Interval]:
        """The window's occurrences overlapping [start, end), as UTC intervals, in order."""
        first = start.astimezone(tz).date() - timedelta(days=1)
        last = end.astimezone(tz).date()
        wanted = {d.index for d in self.days}
        result: list[Interval] = []
        day = first
        while day <= last:
            if day.weekday() in wanted:
                opened = local_instant(day, self.start, tz)
                close_day = day if self.end > self.start else day + timedelta(days=1)
                closed = local_instant(close_day, self.end, tz)
                if opened < end and closed > start:
                    result.append(Interval(start=max(opened, start), end=min(closed, end)))
            day += timedelta(days=1)
        return result

    def contains(self, tz: tzinfo, at: datetime) -> bool:
        """Whether the instant `at` falls inside one occurrence of this window."""
        return bool(self.occurrences(tz, at, at + timedelta(microseconds=1)))


class Interval(Strict):
    """A half-open UTC time range [start, end)."""

    start: datetime
    end: datetime


def local_instant(day: date, clock: time, tz: tzinfo) -> datetime:
    """The UTC instant of wall-clock `clock` on `day` in `tz`.

    A wall time skipped by a spring-forward gap resolves with the offset before the gap (02:30
    in Berlin on that Sunday is 03:30 CEST); a repeated fall-back time means its first occurrence.
    That is zoneinfo's PEP 495 `fold=0` rule, used rather than hand-written offset math.
    """
    return datetime.combine(day, clock, tzinfo=tz).astimezone(UTC)


def zone(name: str) -> ZoneInfo:
    """The tz database zone for an already validated name.

    Inside the Temporal workflow sandbox `ZoneInfo` is wrapped in a proxy that `datetime`
    refuses, so `workflows.domain` must be passed through the sandbox (import it within
    `workflow.unsafe.imports_passed_through()` or list it in `with_passthrough_modules`).
    Failing here with that advice beats a bare TypeError deep inside datetime arithmetic.
    """
    found = ZoneInfo(name)
    if not issubclass(type(found), tzinfo):  # type(), not isinstance: proxies fake __class__
        raise TypeError(
            "zoneinfo is proxied by the Temporal sandbox: pass `workflows.domain` through it "
            "(workflow.unsafe.imports_passed_through or with_passthrough_modules)"
        )
    return found
