from datetime import UTC, datetime, timedelta

from activities.llm.postmortem import draft_postmortem
from activities.llm.query import parse_incident_query
from workflows.domain.analysis import (
    Category,
    Diagnosis,
    Evidence,
    EvidenceSource,
    Hypothesis,
    IncidentFacts,
    RunbookRef,
    TimelineEntry,
)
from workflows.domain.base import Severity

NOW = datetime(2024, 6, 6, 15, 30, tzinfo=UTC)  # a Thursday


def test_database_outages_this_week_become_a_filter_that_says_what_it_used():
    flt, explanation = parse_incident_query("show me all database outages this week", NOW)
    assert flt.category is Category.DATABASE
    assert flt.since == datetime(2024, 6, 3, tzinfo=UTC)
    assert Severity.CRITICAL in flt.severities
    assert "category=database" in explanation and "this week" in explanation


def test_open_gpu_incidents_for_a_service_in_the_last_hours():
    flt, _ = parse_incident_query("open GPU incidents for vllm in the last 6 hours", NOW)
    assert flt.category is Category.GPU_ACCELERATOR
    assert flt.status == "open" and flt.service == "vllm"
    assert flt.since == NOW - timedelta(hours=6)


def test_a_question_without_filters_says_so():
    flt, explanation = parse_incident_query("everything please", NOW)
    assert flt.category is None and "no filter" in explanation


def test_the_postmortem_draft_has_every_section_and_only_recorded_facts():
    opened = NOW - timedelta(hours=2)
    facts = IncidentFacts(
        incident_id="inc_7",
        title="Checkout errors",
        service="checkout",
        severity=Severity.HIGH,
        category=Category.DATABASE,
        opened_at=opened,
        acknowledged_at=opened + timedelta(minutes=9),
        resolved_at=opened + timedelta(minutes=75),
        affected_services=["checkout", "payments-db"],
        pages_sent=3,
        alert_count=41,
    )
    timeline = [
        TimelineEntry(at=opened, kind="opened", summary="incident opened"),
        TimelineEntry(
            at=opened + timedelta(minutes=9),
            kind="acknowledged",
            summary="acknowledged",
            actor="user:alice",
        ),
    ]
    diagnosis = Diagnosis(
        hypotheses=[
            Hypothesis(
                cause="pool exhausted",
                service="payments-db",
                category=Category.DATABASE,
                confidence=0.8,
                evidence=[
                    Evidence(source=EvidenceSource.LOG, ref="log[0]", detail="too many clients")
                ],
            )
        ],
        runbooks=[RunbookRef(runbook_id="db-connection-exhaustion", title="DB")],
    )
    md = draft_postmortem(facts, timeline, diagnosis)
    for section in (
        "## Summary",
        "## Root cause",
        "## Timeline",
        "## Impact",
        "## Lessons",
        "## Preventive measures",
        "## Action items",
    ):
        assert section in md
    assert "1 h 15 min" in md and "pages sent: 3" in md and "user:alice" in md
    assert "log[0]" in md and "more than 5 minutes" in md
