"""The fallback chain's order: the person's own, else the route's, else Slack → email → webhook."""

from __future__ import annotations

from workflows.domain.alerts import Alert, AlertTags
from workflows.domain.config import ContactKind, ContactMethod, Route, User
from workflows.domain.routing import route_alert
from workflows.paging import fallback_chain

SLACK = ContactMethod(id="s", kind=ContactKind.SLACK, address="U1")
EMAIL = ContactMethod(id="e", kind=ContactKind.EMAIL, address="a@example.com")
HOOK = ContactMethod(id="w", kind=ContactKind.WEBHOOK, address="recv")
SMS = ContactMethod(id="t", kind=ContactKind.SMS, address="+15550100")


def ids(chain) -> list[str]:
    return [m.id for m in chain]


def test_the_default_chain_is_slack_then_email_then_webhook():
    user = User(id="a", contact_methods=[HOOK, EMAIL, SLACK, SMS])
    assert ids(fallback_chain(user, SMS)) == ["t", "s", "e", "w"]


def test_a_route_can_set_its_own_order():
    user = User(id="a", contact_methods=[HOOK, EMAIL, SLACK, SMS])
    assert ids(fallback_chain(user, SLACK, ["sms", "webhook"])) == ["s", "t", "w"]


def test_a_persons_own_order_wins_over_the_route():
    user = User(id="a", contact_methods=[HOOK, EMAIL, SLACK, SMS],
                fallback_chain=[ContactKind.EMAIL])
    assert ids(fallback_chain(user, SLACK, ["sms"])) == ["s", "e"]


def test_routing_carries_the_routes_fallback_order_into_the_incident():
    from datetime import UTC, datetime

    route = Route(match={"service": "api"}, fallback_chain=[ContactKind.SMS, ContactKind.EMAIL])
    alert = Alert(id="x", fingerprint="f", source="t", status="firing", title="t",
                  starts_at=datetime.now(UTC), labels={"service": "api"},
                  tags=AlertTags(service="api"))
    assert route_alert(alert, [route]).fallback_chain == ["sms", "email"]
