"""Escalation planning: ladder timing per severity, target resolution, personal contact plans."""

from datetime import UTC, date, datetime, timedelta

from workflows.domain.base import Severity
from workflows.domain.config import (
    ConfigDocument,
    ContactMethod,
    EscalationPolicy,
    EscalationStep,
    NotificationRule,
    Target,
    Team,
    User,
)
from workflows.domain.escalation import (
    SeverityAdjustment,
    SeverityAdjustments,
    contact_plan,
    idempotency_key,
    next_business_start,
    plan_ladder,
    resolve_targets,
    within_business_hours,
)
from workflows.domain.schedule_model import Layer, Schedule

M = timedelta(minutes=1)
POLICY = EscalationPolicy(
    id="ml-default",
    repeat=3,
    steps=[
        EscalationStep(after="0m", notify=[Target(schedule="ml-primary")]),
        EscalationStep(after="5m", notify=[Target(schedule="ml-secondary"), Target(user="lead")]),
        EscalationStep(after="15m", notify=[Target(user="eng-manager")]),
    ],
)


def minutes(steps) -> list[int]:
    return [int(step.offset / M) for step in steps]


def test_high_severity_follows_the_policy_and_repeats_after_one_cadence():
    steps = plan_ladder(POLICY, Severity.HIGH)
    assert minutes(steps) == [0, 5, 15, 25, 30, 40, 50, 55, 65]
    assert [(s.cycle, s.step_index) for s in steps[:4]] == [(0, 0), (0, 1), (0, 2), (1, 0)]


def test_critical_severity_escalates_at_least_every_three_minutes():
    assert minutes(plan_ladder(POLICY, Severity.CRITICAL)) == [0, 3, 6, 9, 12, 15, 18, 21, 24]


def test_medium_severity_keeps_the_policy_shape_with_half_hour_repeats():
    assert minutes(plan_ladder(POLICY, Severity.MEDIUM))[:4] == [0, 5, 15, 45]


def test_low_severity_goes_to_the_digest_and_never_escalates():
    steps = plan_ladder(POLICY, Severity.LOW)
    assert len(steps) == 1 and steps[0].digest
    assert steps[0].targets == [Target(schedule="ml-primary")]


def test_repeat_after_shortens_the_pause_between_cycles_but_never_beyond_the_cadence():
    policy = POLICY.model_copy(update={"repeat_after": timedelta(minutes=2), "repeat": 2})
    assert minutes(plan_ladder(policy, Severity.HIGH)) == [0, 5, 15, 17, 22, 32]


def test_a_policy_without_repeat_runs_the_default_number_of_cycles():
    policy = POLICY.model_copy(update={"repeat": None})
    assert len(plan_ladder(policy, Severity.HIGH)) == 9
    assert len(plan_ladder(policy, Severity.HIGH, default_repeat=1)) == 3


def test_adjustments_are_configurable():
    slow = SeverityAdjustments(high=SeverityAdjustment(cadence="1h"))
    assert minutes(plan_ladder(POLICY, Severity.HIGH, slow))[:4] == [0, 5, 15, 75]


def person(user_id: str, tz: str = "UTC", **extra) -> User:
    return User(id=user_id, time_zone=tz, **extra)


def config() -> ConfigDocument:
    def rota(schedule_id, people):
        return Schedule(id=schedule_id, layers=[Layer(id="l", rotation="daily", handoff="09:00",
                                                      start=date(2025, 1, 1),
                                                      participants=people)])

    return ConfigDocument(
        users=[person(u) for u in ("ana", "ben", "lead", "eng-manager", "sre1", "sre2")],
        teams=[Team(id="ml", members=[]), Team(id="sre", members=["sre1", "sre2"]),
               Team(id="ml-with-fallback", fallback=Target(team="sre"))],
        schedules=[rota("ml-primary", ["ana", "ben"]), rota("ml-secondary", ["ben", "ana"])],
    )


def test_schedule_targets_resolve_to_whoever_is_on_call_when_the_step_fires():
    targets = [Target(schedule="ml-primary")]
    before = datetime(2025, 1, 1, 8, 59, tzinfo=UTC)
    assert resolve_targets(targets, config(), datetime(2025, 1, 1, 9, tzinfo=UTC)) == ["ana"]
    assert resolve_targets(targets, config(), datetime(2025, 1, 2, 9, tzinfo=UTC)) == ["ben"]
    assert resolve_targets(targets, config(), before) == []


def test_resolution_keeps_order_and_pages_each_person_once():
    targets = [Target(schedule="ml-secondary"), Target(user="lead"), Target(schedule="ml-primary"),
               Target(team="sre")]
    at = datetime(2025, 1, 2, 10, tzinfo=UTC)
    assert resolve_targets(targets, config(), at) == ["ana", "lead", "ben", "sre1", "sre2"]


def test_team_fallback_is_paged_when_a_step_resolves_to_nobody():
    at = datetime(2025, 1, 1, 10, tzinfo=UTC)
    targets = [Target(team="ml")]
    assert resolve_targets(targets, config(), at) == []
    assert resolve_targets(targets, config(), at, fallback_team="ml-with-fallback") == [
        "sre1", "sre2"]


def responder(**extra) -> User:
    return person(
        "ana", "Europe/Berlin",
        contact_methods=[
            ContactMethod(id="ana-slack", kind="slack", address="U1"),
            ContactMethod(id="ana-sms", kind="sms", address="+4915100000"),
            ContactMethod(id="ana-voice", kind="voice", address="+4915100000"),
            ContactMethod(id="ana-email", kind="email", address="ana@example.com"),
        ],
        notification_rules=[
            NotificationRule(method="ana-slack", after="0s"),
            NotificationRule(method="ana-sms", after="1m", urgency="high"),
            NotificationRule(method="ana-voice", after="3m", urgency="high"),
            NotificationRule(method="ana-email", after="5m"),
        ],
        **extra,
    )


TUESDAY_NOON_BERLIN = datetime(2025, 5, 6, 10, tzinfo=UTC)
TUESDAY_NIGHT_BERLIN = datetime(2025, 5, 6, 21, tzinfo=UTC)


def plan(user, severity, at):
    return [(c.method.id, int(c.delay / M)) for c in contact_plan(user, severity, at)]


def test_high_urgency_follows_the_personal_rules_in_order():
    assert plan(responder(), Severity.HIGH, TUESDAY_NIGHT_BERLIN) == [
        ("ana-slack", 0), ("ana-sms", 1), ("ana-voice", 3), ("ana-email", 5)]


def test_critical_reaches_every_urgent_method_at_once():
    assert plan(responder(), Severity.CRITICAL, TUESDAY_NIGHT_BERLIN) == [
        ("ana-slack", 0), ("ana-sms", 0), ("ana-voice", 0), ("ana-email", 5)]


def test_medium_uses_low_urgency_rules_and_waits_for_business_hours():
    assert plan(responder(), Severity.MEDIUM, TUESDAY_NOON_BERLIN) == [
        ("ana-slack", 0), ("ana-email", 5)]
    # 23:00 Tuesday in Berlin: held until 09:00 Wednesday = 10 hours.
    assert plan(responder(), Severity.MEDIUM, TUESDAY_NIGHT_BERLIN) == [
        ("ana-slack", 600), ("ana-email", 605)]


def test_low_severity_pages_nobody_personally():
    assert plan(responder(), Severity.LOW, TUESDAY_NOON_BERLIN) == []


def test_a_user_without_rules_is_reached_on_every_method_at_once():
    user = responder().model_copy(update={"notification_rules": []})
    assert {delay for _, delay in plan(user, Severity.HIGH, TUESDAY_NOON_BERLIN)} == {0}


def test_business_hours_are_in_the_users_own_time_zone():
    tokyo = person("kenji", "Asia/Tokyo")
    monday_9_tokyo = datetime(2025, 5, 5, 0, tzinfo=UTC)
    assert within_business_hours(tokyo, monday_9_tokyo)
    assert not within_business_hours(tokyo, monday_9_tokyo - M)
    friday_evening = datetime(2025, 5, 9, 9, tzinfo=UTC)  # 18:00 Friday in Tokyo
    assert next_business_start(tokyo, friday_evening) == datetime(2025, 5, 12, 0, tzinfo=UTC)
    assert next_business_start(tokyo, monday_9_tokyo) == monday_9_tokyo


def test_business_hours_follow_dst_in_new_york():
    nyc = person("nia", "America/New_York")
    saturday = datetime(2025, 3, 8, 12, tzinfo=UTC)  # DST starts Sunday 9 March
    assert next_business_start(nyc, saturday) == datetime(2025, 3, 10, 13, tzinfo=UTC)


def test_idempotency_keys_are_stable_distinct_and_bounded():
    key = idempotency_key("incident-abc", 1, 2, "ana-sms")
    assert key == idempotency_key("incident-abc", 1, 2, "ana-sms") == "incident-abc/c1/s2/ana-sms"
    assert key != idempotency_key("incident-abc", 2, 1, "ana-sms")
    long_key = idempotency_key("incident-" + "x" * 300, 0, 0, "ana-sms")
    assert len(long_key) <= 200
    assert long_key != idempotency_key("incident-" + "x" * 300, 0, 0, "ana-voice")
