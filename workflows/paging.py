"""Paging one person, and posting follow-ups: the workflow side of `notify.send`.

`Pager` is owned by the incident workflow. For one person and one escalation step it walks the
person's contact plan (notification rules: methods with delays), and for each method runs the
fallback chain: that method first, then the person's other methods in `FALLBACK_ORDER`, each
bounded by `channel_budget(channel)`. A rejected send or an open circuit fails at once (the
activity's error is non-retryable), so a dead channel costs its budget at most, never the step.
When every channel fails, the failure becomes a `PAGE_FAILED` timeline event *and* a "page not
delivered" incident of its own. A notification failure never fails the incident.

Idempotency: the key of a page is `idempotency_key(<incident round>, cycle, step, method)`, so a
replay, retry or worker restart asks `notify.send` for the same key and the delivery log sends
it at most once; a fallback that already reached a method makes the later rule for that same
method a logged duplicate, not a second message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from itertools import groupby
from typing import Protocol

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflows import side_effects as fx
    from workflows.domain.base import Frozen, Severity
    from workflows.domain.config import ContactKind, ContactMethod, User
    from workflows.domain.escalation import (  # PagePoint: re-exported for the flows
        PagePoint,
        PlannedContact,
        idempotency_key,
    )
    from workflows.domain.incidents import EscalationProgress, IncidentState, RouteDecision
    from workflows.domain.notifications import (
        ContactTarget,
        DeliveryFailure,
        DeliveryReceipt,
        Link,
        Notification,
        NotificationKind,
        PageNotDelivered,
        SendNotification,
        TargetKind,
        channel_budget,
    )
    from workflows.domain.timeline import EventKind

# Default fallback chain per person (issue #4): Slack, then email, then webhook.
FALLBACK_ORDER = (ContactKind.SLACK, ContactKind.EMAIL, ContactKind.WEBHOOK)
# Incidents raised because a page could not be delivered use this route id; their own failed
# pages are recorded but never raise yet another incident.
UNDELIVERED_ROUTE = "page-not-delivered"
THREADS_KEPT = 20

_CHANNELS: dict[ContactKind, tuple[str, TargetKind]] = {
    ContactKind.SLACK: ("slack", TargetKind.SLACK_USER),
    ContactKind.EMAIL: ("email", TargetKind.EMAIL),
    ContactKind.SMS: ("sms", TargetKind.SMS),
    ContactKind.VOICE: ("voice", TargetKind.VOICE),
    ContactKind.WEBHOOK: ("webhook", TargetKind.WEBHOOK),
    ContactKind.PAGERDUTY: ("pagerduty", TargetKind.PAGERDUTY),
    ContactKind.TEAMS: ("teams", TargetKind.TEAMS),
}


class RaisePageNotDelivered(Frozen):
    """Input of `incident.page_not_delivered`: open (or refire) the page-not-delivered incident."""

    page: PageNotDelivered
    route: RouteDecision
    severity: Severity
    service: str = ""
    env: str = ""
    at: datetime


class IncidentHost(Protocol):
    """What the pager and the ladder need from the workflow that owns them."""

    def incident(self) -> IncidentState: ...

    def save_escalation(self, progress: EscalationProgress) -> None: ...

    def record(self, kind: EventKind, summary: str, details: dict[str, str] | None = None) -> None: ...


def contact_target(user: User, method: ContactMethod) -> tuple[str, ContactTarget]:
    """The channel name and target for one of a person's contact methods."""
    channel, kind = _CHANNELS[method.kind]
    return channel, ContactTarget(kind=kind, address=method.address, user_id=user.id,
                                  contact_method_id=method.id)


def fallback_chain(user: User, first: ContactMethod,
                   route_order: list[str] | None = None) -> list[ContactMethod]:
    """`first`, then the person's other methods (each kind's first method) in the person's own
    order, else the route's, else `FALLBACK_ORDER`."""
    order = user.fallback_chain or [ContactKind(k) for k in route_order or []] or FALLBACK_ORDER
    chain = [first]
    for kind in order:
        method = next((m for m in user.contact_methods if m.kind is kind), None)
        if method is not None and method not in chain:
            chain.append(method)
    return chain


class Pager:
    def __init__(self, host: IncidentHost) -> None:
        self._host = host
        self.link_base = ""  # public URL of the API, from the latest on-call snapshot

    # ---- pages ---------------------------------------------------------------------------

    async def page(self, user: User, contacts: list[PlannedContact], point: PagePoint,
                   stopped: Callable[[], bool], started: datetime | None = None,
                   remaining: list[PlannedContact] | None = None) -> None:
        """Reach `user` through `contacts`; pending delays end at once when `stopped()`.

        `started`: when the step fired (a page resumed after continue-as-new). `remaining`, if
        given, starts as a copy of `contacts` and is kept equal to those not yet attempted, for
        the carry-over.
        """
        started = started or workflow.now()
        for delay, group in groupby(contacts, key=lambda c: c.delay):
            wait = started + delay - workflow.now()
            if wait > timedelta(0):
                try:
                    await workflow.wait_condition(stopped, timeout=wait,
                                                  timeout_summary=f"{user.id}: rule +{delay}")
                except TimeoutError:
                    pass
            if stopped():
                return
            group = list(group)
            if remaining is not None:
                del remaining[:len(group)]
            methods = [c.method for c in group]
            await asyncio.gather(*(self.deliver(user, m, point, skip=methods) for m in methods))

    async def deliver(self, user: User, method: ContactMethod, point: PagePoint,
                      skip: list[ContactMethod] | None = None) -> bool:
        """One page through the fallback chain; False (and a page-not-delivered) if all fail.

        Methods in `skip` (paged at the same moment anyway) are not fallbacks of this one.
        """
        failures: list[DeliveryFailure] = []
        route_order = self._host.incident().route.fallback_chain
        chain = [m for m in fallback_chain(user, method, route_order)
                 if m == method or m not in (skip or [])]
        for link in chain:
            channel, target = contact_target(user, link)
            key = idempotency_key(point.key_base, point.cycle, point.step, link.id)
            n = self._notification(key, target, NotificationKind.PAGE, point.label)
            try:
                receipt = await self._send(n, channel, f"page {user.id} via {link.id}")
            except ActivityError as err:
                failures.append(_failure(channel, target, err))
                continue
            self._delivered(user, link, channel, receipt, point)
            return True
        await self._undelivered(user, failures, point)
        return False

    async def tell_channel(self, slack_channel: str, summary: str, point: PagePoint) -> None:
        """Post `summary` to a team's Slack channel (the exhausted-ladder fallback)."""
        target = ContactTarget(kind=TargetKind.SLACK_CHANNEL, address=slack_channel)
        key = idempotency_key(point.key_base, point.cycle, point.step, f"channel-{slack_channel}")
        try:
            await self._send(self._notification(key, target, NotificationKind.PAGE, summary),
                             "slack", f"tell {slack_channel}")
        except ActivityError as err:
            self._host.record(EventKind.PAGE_FAILED, f"could not tell {slack_channel}: {_why(err)}",
                              {"channel": "slack", "target": slack_channel})
            return
        self._host.record(EventKind.PAGED, f"told team channel {slack_channel}",
                          {"channel": "slack", "target": slack_channel, "idempotency_key": key})

    # ---- follow-ups ----------------------------------------------------------------------

    async def post_update(self, text: str) -> None:
        """Post `text` into every Slack thread a page of this incident started; no-op if none."""
        progress = self._host.incident().escalation
        if not progress.threads:
            return
        number = progress.updates_posted + 1
        self._host.save_escalation(progress.model_copy(update={"updates_posted": number}))
        base = f"{workflow.info().workflow_id}:{self._host.incident().incident_id}"
        for thread in progress.threads:
            channel_id = thread.partition(":")[0]
            target = ContactTarget(kind=TargetKind.SLACK_CHANNEL, address=channel_id)
            n = self._notification(f"{base}:update{number}:{thread}", target,
                                   NotificationKind.UPDATE, text).model_copy(
                update={"thread_ref": thread})
            try:
                await self._send(n, "slack", f"update {thread}")
            except ActivityError as err:
                self._host.record(EventKind.PAGE_FAILED, f"update not posted: {_why(err)}",
                                  {"channel": "slack", "thread": thread})

    # ---- internals -----------------------------------------------------------------------

    async def _send(self, n: Notification, channel: str, summary: str) -> DeliveryReceipt:
        return await workflow.execute_activity(
            fx.NOTIFY_SEND.name, SendNotification(notification=n, channel=channel),
            result_type=DeliveryReceipt, task_queue=fx.NOTIFY_TASK_QUEUE, summary=summary,
            start_to_close_timeout=fx.NOTIFY_SEND.start_to_close,
            schedule_to_close_timeout=channel_budget(channel), retry_policy=fx.NOTIFY_SEND.retry)

    def _notification(self, key: str, target: ContactTarget, kind: NotificationKind,
                      summary: str) -> Notification:
        s = self._host.incident()
        ref = s.number or s.incident_id
        links = [Link(label="Incident", url=f"{self.link_base}/incidents/{ref}")] \
            if self.link_base else []
        return Notification(idempotency_key=key, incident_id=s.incident_id,
                            incident_number=s.number, title=s.title, severity=s.severity,
                            status=s.status, kind=kind, summary=summary, links=links,
                            target=target)

    def _delivered(self, user: User, method: ContactMethod, channel: str,
                   receipt: DeliveryReceipt, point: PagePoint) -> None:
        if receipt.duplicate:
            return  # an earlier attempt (or a fallback) already reached this method
        if channel == "slack" and receipt.thread_ref:
            progress = self._host.incident().escalation
            if receipt.thread_ref not in progress.threads:
                threads = (progress.threads + [receipt.thread_ref])[-THREADS_KEPT:]
                self._host.save_escalation(progress.model_copy(update={"threads": threads}))
        self._host.record(EventKind.PAGED, f"paged {user.id} via {method.kind.value} ({point.label})",
                          {"user": user.id, "channel": channel, "contact_method": method.id,
                           "cycle": str(point.cycle), "step": str(point.step)})

    async def _undelivered(self, user: User, failures: list[DeliveryFailure],
                           point: PagePoint) -> None:
        s = self._host.incident()
        why = "; ".join(f"{f.channel}: {f.error_type}" for f in failures) or "no contact method"
        self._host.record(EventKind.PAGE_FAILED, f"page to {user.id} not delivered ({why})",
                          {"user": user.id, "cycle": str(point.cycle), "step": str(point.step)})
        if s.route.route_id == UNDELIVERED_ROUTE:
            return  # never raise a page-not-delivered incident about another one
        page = PageNotDelivered(incident_id=s.incident_id, incident_number=s.number,
                                user_id=user.id, failures=failures)
        request = RaisePageNotDelivered(page=page, route=s.route, severity=s.severity,
                                        service=s.service, env=s.env, at=workflow.now())
        try:
            await workflow.execute_activity(fx.RAISE_PAGE_NOT_DELIVERED.name, request,
                                            summary=f"page not delivered: {user.id}",
                                            **fx.RAISE_PAGE_NOT_DELIVERED.options())
        except ActivityError as err:
            self._host.record(EventKind.PAGE_FAILED,
                              f"could not raise the page-not-delivered incident: {_why(err)}",
                              {"user": user.id})


def _failure(channel: str, target: ContactTarget, err: ActivityError) -> DeliveryFailure:
    cause = err.cause
    kind = cause.type if isinstance(cause, ApplicationError) and cause.type else \
        type(cause).__name__
    return DeliveryFailure(channel=channel, target=target, error=_why(err), error_type=kind)


def _why(err: ActivityError) -> str:
    return str(err.cause or err)[:300]
