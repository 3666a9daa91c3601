"""On-call lookups, shifts, gaps and calendars; paging health; an incident's delivery log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar

from activities.notify.ledger import DeliveryLedger
from infra.db.repositories import incidents as repo
from workflows.domain.base import Actor, ActorKind, Severity
from workflows.domain.incidents import IncidentState
from workflows.domain.notifications import ContactTarget, Notification, TargetKind
from workflows.domain.timeline import EventKind, RecordIncident, TimelineEvent

MONDAY = datetime(2026, 1, 5, tzinfo=UTC)
CONFIG = {"version": 1, "users": [
    {"id": "ana", "name": "Ana", "time_zone": "Europe/Berlin"},
    {"id": "ben", "name": "Ben", "time_zone": "America/New_York"}],
    "schedules": [{"id": "primary", "name": "Primary", "layers": [
        {"id": "days", "rotation": "daily", "handoff": "09:00", "start": "2026-01-05",
         "participants": ["ana", "ben"],
         "restrictions": [{"days": "mon-fri", "start": "09:00", "end": "17:00"}]}]}]}


@pytest.fixture
async def api_with_schedule(api):
    assert (await api.put("/api/v1/config", json=CONFIG)).status_code == 200
    return api


async def test_oncall_at_an_instant_names_the_person(api_with_schedule):
    r = await api_with_schedule.get("/api/v1/schedules/primary/oncall",
                                    params={"at": "2026-01-06T10:00:00Z"})
    assert r.status_code == 200
    assert r.json()["oncall"] == [{"user_id": "ben", "name": "Ben"}] and not r.json()["gap"]
    night = await api_with_schedule.get("/api/v1/schedules/primary/oncall",
                                        params={"at": "2026-01-06T22:00:00+00:00"})
    assert night.json()["oncall"] == [] and night.json()["gap"]


async def test_shifts_and_gaps_over_a_period(api_with_schedule):
    params = {"from": "2026-01-05T00:00:00Z", "to": "2026-01-07T00:00:00Z"}
    shifts = (await api_with_schedule.get("/api/v1/schedules/primary/shifts",
                                          params=params)).json()["shifts"]
    assert [(s["user_id"], s["start"][:16]) for s in shifts] == [
        ("ana", "2026-01-05T09:00"), ("ben", "2026-01-06T09:00")]
    gaps = (await api_with_schedule.get("/api/v1/schedules/primary/gaps", params=params)).json()
    assert len(gaps["gaps"]) == 3 and gaps["uncovered_seconds"] == (48 - 16) * 3600


async def test_bad_times_are_refused_naming_the_field(api_with_schedule):
    naive = await api_with_schedule.get("/api/v1/schedules/primary/oncall",
                                        params={"at": "2026-01-06T10:00:00"})
    assert naive.status_code == 422 and naive.json()["error"].startswith("at: needs a time zone")
    backwards = await api_with_schedule.get("/api/v1/schedules/primary/gaps", params={
        "from": "2026-01-07T00:00:00Z", "to": "2026-01-05T00:00:00Z"})
    assert backwards.status_code == 422 and backwards.json()["error"] == "to: must be after from"
    garbage = await api_with_schedule.get("/api/v1/schedules/primary/shifts",
                                          params={"from": "tomorrow"})
    assert garbage.status_code == 422 and garbage.json()["field"] == "query.from"
    missing = await api_with_schedule.get("/api/v1/schedules/nope/oncall")
    assert missing.status_code == 404 and missing.json()["retryable"] is False


async def test_schedule_and_user_calendars_are_icalendar(api_with_schedule):
    params = {"from": "2026-01-05T00:00:00Z", "to": "2026-01-10T00:00:00Z"}
    r = await api_with_schedule.get("/api/v1/schedules/primary.ics", params=params)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
    events = Calendar.from_ical(r.content).walk("VEVENT")
    assert [str(e["summary"]) for e in events] == ["On call: Ana", "On call: Ben"] * 2 + \
        ["On call: Ana"]
    mine = await api_with_schedule.get("/api/v1/users/ana/shifts.ics", params=params)
    assert len(Calendar.from_ical(mine.content).walk("VEVENT")) == 3
    assert (await api_with_schedule.get("/api/v1/users/zed/shifts.ics")).status_code == 404


# ---- paging health and the delivery log -----------------------------------------------------


def _incident(engine, number_hint: str, opened: datetime, acked: datetime | None) -> str:
    incident_id = f"inc-{number_hint}"
    state = IncidentState(incident_id=incident_id, dedup_key=number_hint, title="Disk full",
                          opened_at=opened, severity=Severity.HIGH, version=1)
    events = [TimelineEvent(seq=1, at=opened, kind=EventKind.OPENED, summary="opened")]
    if acked:
        events.append(TimelineEvent(seq=2, at=acked, kind=EventKind.ACKNOWLEDGED,
                                    summary="acknowledged",
                                    actor=Actor(kind=ActorKind.USER, id="ana")))
    repo.project(engine, RecordIncident(workflow_id=f"incident-{number_hint}", state=state,
                                        events=events), opened)
    return incident_id


async def _page(engine, incident_id: str, user: str, at: datetime, result: str = "delivered",
                channel: str = "sms", error: str = "") -> None:
    n = Notification(idempotency_key=f"{incident_id}:s0:c1:{user}-{channel}",
                     incident_id=incident_id, incident_number=1, title="Disk full",
                     severity=Severity.HIGH,
                     target=ContactTarget(kind=TargetKind.SMS, address="+100", user_id=user))
    await DeliveryLedger(engine, clock=lambda: at).record_attempt(
        n, channel, result, 42.0, provider_message_id="SM1" if result == "delivered" else "",
        error=error, retryable=True if error else None)


async def test_oncall_health_counts_pages_after_hours_and_time_to_ack(api_with_schedule):
    engine = api_with_schedule.app.state.lim.engine
    day = MONDAY + timedelta(hours=10)  # 11:00 in Berlin: business hours
    night = MONDAY + timedelta(hours=23)  # midnight in Berlin
    first = _incident(engine, "a", day, acked=day + timedelta(minutes=4))
    second = _incident(engine, "b", night, acked=None)
    await _page(engine, first, "ana", day)
    await _page(engine, first, "ana", day + timedelta(minutes=1), channel="voice")  # same page
    await _page(engine, second, "ana", night)
    await _page(engine, second, "ben", night, result="failed", error="carrier refused")
    r = await api_with_schedule.get("/api/v1/oncall/health", params={
        "from": "2026-01-05T00:00:00Z", "to": "2026-01-12T00:00:00Z"})
    assert r.status_code == 200
    [ana] = r.json()["responders"]
    assert ana == {"user_id": "ana", "name": "Ana", "pages": 2, "pages_per_week": 2.0,
                   "after_hours_pages": 1, "acknowledged": 1,
                   "mean_time_to_ack_seconds": 240.0, "median_time_to_ack_seconds": 240.0}


async def test_an_incident_lists_every_delivery_attempt(api):
    engine = api.app.state.lim.engine
    incident_id = _incident(engine, "c", MONDAY, acked=None)
    await _page(engine, incident_id, "ben", MONDAY, result="failed", error="timeout")
    await _page(engine, incident_id, "ben", MONDAY + timedelta(seconds=20))
    number = repo.find(engine, incident_id)["number"]
    r = await api.get(f"/api/v1/incidents/{number}/deliveries")
    assert r.status_code == 200
    attempts = r.json()["attempts"]
    assert [a["result"] for a in attempts] == ["failed", "delivered"]
    assert attempts[0]["error"] == "timeout" and attempts[0]["retryable"] is True
    assert attempts[1]["provider_message_id"] == "SM1" and attempts[1]["latency_ms"] == 42.0
    assert attempts[1]["target"] == {"kind": "sms", "address": "+100", "user_id": "ben"}
    assert r.json()["summary"] == {"failed": 1, "delivered": 1}
    assert (await api.get("/api/v1/incidents/99999/deliveries")).status_code == 404
