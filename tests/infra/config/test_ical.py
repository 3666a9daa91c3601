"""iCalendar export of a schedule and of one person's shifts."""

from datetime import UTC, datetime
from pathlib import Path

from icalendar import Calendar

from infra.config.ical import schedule_calendar, user_calendar
from infra.config.loader import load_config_file

EXAMPLE = Path(__file__).parents[3] / "examples" / "lim.yaml"
DAY = (datetime(2025, 7, 2, tzinfo=UTC), datetime(2025, 7, 3, tzinfo=UTC))


def events(data: bytes):
    return [c for c in Calendar.from_ical(data).walk("VEVENT")]


def test_follow_the_sun_day_exports_three_named_events():
    doc = load_config_file(EXAMPLE)
    users = {u.id: u for u in doc.users}
    found = events(schedule_calendar(doc.schedule("ml-primary"), *DAY, users))
    assert [str(e["summary"]) for e in found] == [
        "On call: Kenji Sato", "On call: Ana Schmidt", "On call: Ben Okafor"]
    assert found[0].decoded("dtstart") == DAY[0]
    assert found[-1].decoded("dtend") == DAY[1]


def test_user_calendar_collects_one_persons_shifts_across_schedules_with_stable_uids():
    doc = load_config_file(EXAMPLE)
    data = user_calendar("ana", doc.schedules, *DAY)
    found = events(data)
    assert {str(e["summary"]) for e in found} == {"On call: ML primary (follow the sun)",
                                                  "On call: ml-secondary"}
    assert data == user_calendar("ana", doc.schedules, *DAY)
