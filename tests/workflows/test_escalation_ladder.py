"""The escalation ladder on the time-skipping server: who is paged at which (virtual) minute."""

from __future__ import annotations

from datetime import time, timedelta
from zoneinfo import ZoneInfo

from tests.workflows.conftest import ladder_config, minutes, person
from workflows.domain.base import Actor, ActorKind, Severity
from workflows.domain.config import NotificationRule
from workflows.domain.config_types import TimeWindow
from workflows.domain.incidents import Acknowledge
from workflows.incident import IncidentWorkflow

ALICE = Actor(kind=ActorKind.USER, id="alice", name="Alice")
PRIMARY, SECOND = ["alice"], ["carol", "lead"]


def cycle(start: float, primary: list[str] = PRIMARY) -> list[tuple[float, str]]:
    """The high-severity ladder from `start`: primary, then +5 secondary and lead, +15 manager."""
    return ([(start, u) for u in primary] + [(start + 5, u) for u in SECOND]
            + [(start + 15, "manager")])


async def test_pages_follow_the_ladder_to_the_minute_then_exhaust_and_tell_the_fallback(
        paging, slack_server):
    paging.apply(ladder_config())
    inc = await paging.open(Severity.HIGH)
    await paging.sleep(80)
    # High caps each wait at 10 min: cycles start at T+0, T+25, T+50; exhausted at T+75.
    expected = cycle(0) + cycle(25) + cycle(50) + [(75, "manager")]
    assert paging.who(inc) == sorted(expected)
    exhausted = [e for e in paging.timeline(inc) if e["kind"] == "exhausted"]
    assert len(exhausted) == 1 and "C0TEAM" in exhausted[0]["summary"]
    told = [p for p in slack_server.posts if p["channel"] == "C0TEAM" and inc.incident_id[:8]
            in str(p.get("metadata", ""))]
    assert len(told) == 1
    assert paging.kinds(inc).count("escalated") == 8


async def test_ack_at_minute_seven_stops_everything(paging):
    paging.apply(ladder_config())
    inc = await paging.open(Severity.HIGH)
    await paging.sleep(7)
    await inc.handle.execute_update(IncidentWorkflow.acknowledge, Acknowledge(actor=ALICE))
    await paging.sleep(90)
    assert paging.who(inc) == sorted([(0, "alice"), (5, "carol"), (5, "lead")])
    assert "exhausted" not in paging.kinds(inc)


async def test_ack_cancels_pending_personal_rule_delays(paging):
    rules = [NotificationRule(method="alice-sms"),
             NotificationRule(method="alice-voice", after=timedelta(minutes=3))]
    paging.apply(ladder_config(person("alice", "sms", "voice", rules=rules)))
    inc = await paging.open(Severity.HIGH)
    await paging.sleep(1)
    await inc.handle.execute_update(IncidentWorkflow.acknowledge, Acknowledge(actor=ALICE))
    await paging.sleep(30)
    assert paging.pages(inc) == [(0, "alice", "sms")]


async def test_a_handoff_at_minute_ten_pages_the_new_on_call(paging):
    start = await paging.now()
    paging.apply(ladder_config(person("bob"), handoff_to="bob",
                               handoff_at=start + timedelta(minutes=10)))
    inc = await paging.open(Severity.HIGH)
    await paging.sleep(30)
    primary_pages = [(m, u) for m, u in paging.who(inc) if u in ("alice", "bob")]
    assert primary_pages == [(0, "alice"), (25, "bob")]


async def test_critical_escalates_every_three_minutes_on_every_urgent_method_at_once(paging):
    rules = [NotificationRule(method="alice-sms"),
             NotificationRule(method="alice-voice", after=timedelta(minutes=3)),
             NotificationRule(method="alice-email", after=timedelta(minutes=1))]
    paging.apply(ladder_config(person("alice", "sms", "voice", "email", rules=rules)))
    inc = await paging.open(Severity.CRITICAL)
    await paging.sleep(8)
    first = [(m, k) for m, u, k in paging.pages(inc) if u == "alice"]
    # sms and voice at once (urgent); email keeps its delay.
    assert sorted(first) == [(0, "sms"), (0, "voice"), (1, "email")]
    assert [(m, u) for m, u in paging.who(inc) if u != "alice"] == \
        [(3, "carol"), (3, "lead"), (6, "manager")]


async def test_low_severity_goes_to_the_digest_and_never_escalates(paging):
    paging.apply(ladder_config())
    inc = await paging.open(Severity.LOW)
    await paging.sleep(120)
    assert paging.pages(inc) == []
    kinds = paging.kinds(inc)
    assert "escalated" not in kinds and "exhausted" not in kinds
    digest = [e for e in paging.timeline(inc) if e["details"].get("mode") == "digest"]
    assert len(digest) == 1 and "alice" in digest[0]["summary"]


async def test_medium_waits_for_the_responders_business_hours_in_their_own_time_zone(paging):
    tokyo = ZoneInfo("Asia/Tokyo")
    local = (await paging.now()).astimezone(tokyo)
    opens = time((local.hour + 3) % 24)
    hours = TimeWindow(start=opens, end=time((local.hour + 5) % 24))
    paging.apply(ladder_config(person("alice", tz="Asia/Tokyo", hours=hours)))
    inc = await paging.open(Severity.MEDIUM)
    await paging.sleep(4 * 60)
    alice = [at for at, n in paging.recording.pages_for(inc.incident_id)
             if n.target.user_id == "alice"]
    assert alice, "alice was never paged"
    first_at = alice[0]
    assert first_at.astimezone(tokyo).hour == opens.hour
    assert minutes(inc.t0, first_at) > 60  # held for about three hours, never sent at night
