"""iCalendar export of on-call shifts, for responders' calendars (RFC 5545 via `icalendar`).

Event UIDs derive from schedule, user and shift start, so re-exporting updates events in a
subscribed calendar instead of duplicating them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from icalendar import Calendar, Event

from workflows.domain.config import User
from workflows.domain.schedule_model import Schedule
from workflows.domain.schedules import Shift, shifts_between

_PRODID = "-//LLM Incident Manager//on-call//EN"


def schedule_calendar(
    schedule: Schedule,
    start: datetime,
    end: datetime,
    users: Mapping[str, User] | None = None,
) -> bytes:
    """Every shift of `schedule` in [start, end) as one VEVENT each, named after the person."""
    calendar = _calendar(f"On call: {schedule.name or schedule.id}")
    for shift in shifts_between(schedule, start, end):
        name = _display_name(shift.user_id, users)
        calendar.add_component(_event(schedule, shift, f"On call: {name}"))
    return calendar.to_ical()


def user_calendar(
    user_id: str, schedules: Sequence[Schedule], start: datetime, end: datetime
) -> bytes:
    """One user's shifts across all `schedules` in [start, end), named after each schedule."""
    calendar = _calendar(f"My on-call shifts ({user_id})")
    for schedule in schedules:
        for shift in shifts_between(schedule, start, end):
            if shift.user_id == user_id:
                label = schedule.name or schedule.id
                calendar.add_component(_event(schedule, shift, f"On call: {label}"))
    return calendar.to_ical()


def _calendar(name: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", _PRODID)
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", name)
    return calendar


def _event(schedule: Schedule, shift: Shift, summary: str) -> Event:
    event = Event()
    event.add("uid", f"{schedule.id}.{shift.user_id}.{shift.start:%Y%m%dT%H%M%SZ}@lim")
    event.add("summary", summary)
    event.add("dtstart", shift.start)
    event.add("dtend", shift.end)
    # DTSTAMP must be present; the shift start keeps the export deterministic.
    event.add("dtstamp", shift.start)
    event.add("description", f"schedule {schedule.id}, layer {shift.layer}")
    return event


def _display_name(user_id: str, users: Mapping[str, User] | None) -> str:
    user = users.get(user_id) if users else None
    return user.name or user_id if user else user_id
