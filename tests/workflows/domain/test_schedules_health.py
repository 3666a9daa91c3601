"""On-call health figures per responder."""

from datetime import UTC, datetime, timedelta

from workflows.domain.config import User
from workflows.domain.schedule_health import PageRecord, responder_health

START = datetime(2025, 5, 5, tzinfo=UTC)  # a Monday
END = START + timedelta(weeks=2)
M = timedelta(minutes=1)


def page(user, hours_after_start, ack_minutes=None):
    at = START + timedelta(hours=hours_after_start)
    return PageRecord(user_id=user, at=at,
                      acked_at=at + timedelta(minutes=ack_minutes) if ack_minutes is not None
                      else None)


def test_figures_per_responder_are_counted_in_their_own_time_zone():
    tokyo = User(id="kenji", time_zone="Asia/Tokyo")
    pages = [
        page("kenji", 1, 2),    # Monday 10:00 Tokyo: business hours
        page("kenji", 12, 4),   # Monday 21:00 Tokyo: after hours
        page("kenji", 24 * 5 + 1, 12),  # Saturday: after hours
        page("kenji", 30),      # never acknowledged; Tuesday 15:00 Tokyo
        page("ana", 10, 1),
    ]
    kenji, ana = responder_health(pages, [tokyo], START, END)
    assert (kenji.user_id, kenji.pages, kenji.pages_per_week) == ("kenji", 4, 2.0)
    assert kenji.after_hours_pages == 2
    assert kenji.acknowledged == 3
    assert kenji.mean_time_to_ack == 6 * M and kenji.median_time_to_ack == 4 * M
    # Unknown users are judged by office hours in UTC: Monday 10:00 UTC is inside them.
    assert (ana.pages, ana.after_hours_pages, ana.median_time_to_ack) == (1, 0, M)


def test_pages_outside_the_period_are_ignored_and_no_acks_means_no_ack_times():
    pages = [page("ben", -1, 3), page("ben", 24 * 14 + 1, 3), page("ben", 2)]
    (ben,) = responder_health(pages, [], START, END)
    assert (ben.pages, ben.acknowledged, ben.mean_time_to_ack) == (1, 0, None)
