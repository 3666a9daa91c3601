"""On-call health: how heavily and how unsociably each responder is paged, and how fast they ack.

Pure figures from page records; the API reads records from the delivery log and calls these.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from statistics import mean, median

from workflows.domain.base import Frozen
from workflows.domain.config import User
from workflows.domain.escalation import within_business_hours

WEEK = timedelta(weeks=1)


class PageRecord(Frozen):
    """`user_id` was paged at `at` and acknowledged at `acked_at` (None: never acknowledged)."""

    user_id: str
    at: datetime
    acked_at: datetime | None = None


class ResponderHealth(Frozen):
    """One responder's figures over a period. Ack times are None when nothing was acknowledged."""

    user_id: str
    pages: int
    pages_per_week: float
    after_hours_pages: int
    acknowledged: int
    mean_time_to_ack: timedelta | None = None
    median_time_to_ack: timedelta | None = None


def responder_health(
    pages: Sequence[PageRecord], users: Sequence[User], start: datetime, end: datetime
) -> list[ResponderHealth]:
    """Figures per paged responder for pages in [start, end), busiest first, then by id.

    After-hours means outside the responder's own business hours in their own time zone; a
    responder missing from `users` is judged by the default Mon-Fri 09:00-17:00 UTC.
    """
    known = {user.id: user for user in users}
    in_period = [page for page in pages if start <= page.at < end]
    weeks = max((end - start) / WEEK, 1e-9)
    by_user: dict[str, list[PageRecord]] = {}
    for page in in_period:
        by_user.setdefault(page.user_id, []).append(page)
    figures = [
        _figures(user_id, records, known.get(user_id) or User(id=user_id), weeks)
        for user_id, records in by_user.items()
    ]
    return sorted(figures, key=lambda f: (-f.pages, f.user_id))


def _figures(user_id: str, records: list[PageRecord], user: User, weeks: float) -> ResponderHealth:
    # A clock skew can put an ack before its page; count it as instant rather than negative.
    waits = [max(p.acked_at - p.at, timedelta(0)).total_seconds() for p in records
             if p.acked_at is not None]
    return ResponderHealth(
        user_id=user_id,
        pages=len(records),
        pages_per_week=round(len(records) / weeks, 2),
        after_hours_pages=sum(1 for p in records if not within_business_hours(user, p.at)),
        acknowledged=len(waits),
        mean_time_to_ack=timedelta(seconds=mean(waits)) if waits else None,
        median_time_to_ack=timedelta(seconds=median(waits)) if waits else None,
    )
