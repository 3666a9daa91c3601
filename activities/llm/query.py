"""Questions about incidents → a structured `IncidentFilter`, with what was understood.

    parse_incident_query("show me all database outages this week", now)
    → IncidentFilter(category=database, since=<Monday 00:00>), "category=database; since ..."

Deterministic and local: keyword tables for categories, statuses and severities, plus relative
time phrases. Words it did not understand are kept as free `text` only when they look like a
service name ("for checkout", "on payments-db").
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from workflows.domain.analysis import Category, IncidentFilter
from workflows.domain.base import Severity

_CATEGORY_WORDS: list[tuple[str, Category]] = [
    (r"database|\bdb\b|postgres|mysql|redis|mongo", Category.DATABASE),
    (r"\bgpu|accelerator|cuda", Category.GPU_ACCELERATOR),
    (r"network|dns|packet", Category.NETWORK),
    (r"security|breach|intrusion|certificate", Category.SECURITY),
    (r"drift", Category.DRIFT),
    (r"hallucinat|toxic|accuracy|model quality", Category.MODEL_QUALITY),
    (r"cost|quota|spend|budget|rate.?limit", Category.COST_QUOTA),
    (r"inference|model serving|serving|latency of (the )?model", Category.MODEL_SERVING),
    (r"third.?party|vendor|external|provider", Category.EXTERNAL_DEPENDENCY),
    (r"infrastructure|infra\b|host|node|disk|kubernetes", Category.INFRASTRUCTURE),
    (r"application|\bapp\b|errors? rate|5xx", Category.APPLICATION),
]
_STATUS_WORDS = [
    (r"\bopen\b|ongoing|active|unresolved|current", "open"),
    (r"unacknowledged|not acknowledged|triggered", "triggered"),
    (r"acknowledged|acked", "acknowledged"),
    (r"resolved|closed|past|fixed", "resolved"),
]
_SEVERITY_WORDS = [
    (r"critical|\bp1\b|sev ?1", [Severity.CRITICAL]),
    (r"\bhigh\b|\bp2\b|sev ?2|major", [Severity.HIGH]),
    (r"\bmedium\b|\bp3\b", [Severity.MEDIUM]),
    (r"\blow\b|minor", [Severity.LOW]),
    (r"outages?|\bdown\b", [Severity.CRITICAL, Severity.HIGH]),  # an outage pages: P1 or P2
]
_SERVICE = re.compile(
    r"\b(?:for|on|in|of|affecting) (?:the )?([a-z][a-z0-9-]*[a-z0-9])(?: service)?\b"
)
_NOT_SERVICES = {"the", "this", "last", "past", "all", "today", "yesterday", "week", "month"}


def _time_range(text: str, now: datetime) -> tuple[datetime | None, datetime | None, str]:
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if m := re.search(r"(?:last|past) (\d+) (hour|day|week|month)s?", text):
        n, unit = int(m.group(1)), m.group(2)
        days = {"hour": n / 24, "day": n, "week": 7 * n, "month": 30 * n}[unit]
        return now - timedelta(days=days), None, m.group(0)
    table = {
        "today": (day, None),
        "yesterday": (day - timedelta(days=1), day),
        "this week": (day - timedelta(days=now.weekday()), None),
        "last week": (day - timedelta(days=now.weekday() + 7), day - timedelta(days=now.weekday())),
        "this month": (day.replace(day=1), None),
        "last 24 hours": (now - timedelta(hours=24), None),
    }
    for phrase, (since, until) in table.items():
        if phrase in text:
            return since, until, phrase
    return None, None, ""


def _first(table, text):
    return next((value for pattern, value in table if re.search(pattern, text)), None)


def parse_incident_query(text: str, now: datetime) -> tuple[IncidentFilter, str]:
    """A filter for `text` relative to `now`, and a sentence saying which filter was used."""
    lowered = text.lower()
    category = _first(_CATEGORY_WORDS, lowered)
    status = _first(_STATUS_WORDS, lowered)
    severities = _first(_SEVERITY_WORDS, lowered) or []
    since, until, phrase = _time_range(lowered, now)
    service = ""
    for m in _SERVICE.finditer(lowered):
        if m.group(1) not in _NOT_SERVICES and not re.fullmatch(r"\d+", m.group(1)):
            service = m.group(1)
            break
    flt = IncidentFilter(
        category=category,
        status=status,
        severities=list(severities),
        service=service,
        since=since,
        until=until,
    )
    parts = [
        f"category={category.value}" if category else "",
        f"status={status}" if status else "",
        "severity=" + ",".join(s.value for s in severities) if severities else "",
        f"service={service}" if service else "",
        f"since {since.isoformat()}" if since else "",
        f"until {until.isoformat()}" if until else "",
    ]
    used = "; ".join(p for p in parts if p) or "no filter (all incidents)"
    return flt, f"understood: {used}" + (f" (from '{phrase}')" if phrase else "")
