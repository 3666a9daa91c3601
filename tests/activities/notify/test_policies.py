"""The pure parts: rate policy, SMS text, digest batching, keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tests.activities.notify.conftest import page
from workflows.domain.base import Severity
from workflows.domain.notifications import (
    SMS_RATE_WINDOW,
    DeliveryFailure,
    PageNotDelivered,
    TargetKind,
    batch_for_digest,
    channel_budget,
    page_key,
    rate_decision,
    render_sms,
    wants_digest,
)

T0 = datetime(2026, 5, 1, tzinfo=UTC)


@given(st.floats(min_value=0, max_value=600))
def test_rate_decision_never_allows_two_messages_inside_the_window(seconds):
    decision = rate_decision(T0, T0 + timedelta(seconds=seconds), timedelta(minutes=1))
    assert decision.send_now == (seconds >= 60)
    if not decision.send_now:
        assert timedelta(0) < decision.wait <= timedelta(minutes=1)


def test_bundled_sms_names_every_page_and_offers_reply_codes_for_the_newest():
    text = render_sms([page(key="a", number=7), page(key="b", number=8)])
    assert text.startswith("2 pages: #7 #8") and "'8 ack'" in text


def test_digest_batching_is_idempotent_and_per_address():
    items = [(T0 + timedelta(minutes=m), page(key=f"k{m}", number=m, kind=TargetKind.EMAIL,
                                              address=addr, severity=Severity.LOW))
             for m, addr in ((1, "a@x"), (2, "b@x"), (3, "a@x"))]
    first = batch_for_digest(items, timedelta(hours=1))
    assert first == batch_for_digest(items, timedelta(hours=1))
    assert sorted((d.target.address, len(d.digest_items)) for d in first) == [("a@x", 2),
                                                                             ("b@x", 1)]


def test_only_low_severity_goes_to_the_digest():
    assert wants_digest(page(severity=Severity.LOW))
    assert not wants_digest(page(severity=Severity.HIGH))


def test_page_keys_are_stable_and_budgets_cover_the_sms_window():
    assert page_key("incident-x", 1, 0, "cm9") == page_key("incident-x", 1, 0, "cm9")
    assert channel_budget("sms") > SMS_RATE_WINDOW
    assert channel_budget("unknown") == channel_budget("webhook")


def test_page_not_delivered_names_the_channels_it_tried():
    failure = DeliveryFailure(channel="sms", target=page().target, error="HTTP 500")
    undelivered = PageNotDelivered(incident_id="inc-42", incident_number=42, user_id="alice",
                                   failures=[failure])
    assert undelivered.dedup_key == "page-undelivered:inc-42:alice"
    assert "sms" in undelivered.title and "#42" in undelivered.title
