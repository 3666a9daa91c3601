"""The low-severity digest (issues #3 and #4): one email per person per period, never more.

A low-severity incident's ladder pages nobody; it records a `PAGED` timeline event with
details `{"mode": "digest", "users": "..."}` and stops. `DigestWorkflow` runs once per period
(a Temporal Schedule, see `worker/schedules.py`): `digest.collect` reads those events of the
period with their incidents and each named person's email method from the applied config, then
the workflow sends each person ONE `DIGEST` notification via `notify.send` on `email`.

Idempotency: the key is `digest:<user>:<period end>`, so a retried activity, a replayed or
re-run workflow for the same period asks the delivery ledger for the same key and mails at most
once. Nothing here fails the workflow for one person: a missing email method is recorded as
skipped, a failed send as failed, and the others still get theirs.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from pydantic import Field
from temporalio import workflow
from temporalio.common import SearchAttributeKey
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from workflows import side_effects as fx
    from workflows.domain.base import Frozen, Severity
    from workflows.domain.lifecycle import IncidentStatus
    from workflows.domain.notifications import (
        DIGEST_PERIOD,
        ContactTarget,
        DeliveryReceipt,
        DigestItem,
        Notification,
        NotificationKind,
        SendNotification,
        TargetKind,
        channel_budget,
        digest_period_start,
    )

DIGEST_CHANNEL = "email"
# Set by Temporal on runs a Schedule starts: the exact fire time, however late the run started.
SCHEDULED_AT = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")


class DigestInput(Frozen):
    """One period. `period_end` None (scheduled runs): the period boundary at or before the
    scheduled fire time, so a run started late still covers the period it was for."""

    period: timedelta = DIGEST_PERIOD
    period_end: datetime | None = None


class DigestRequest(Frozen):
    """Input of `digest.collect`: incidents put in the digest at `since` <= t < `until`."""

    since: datetime
    until: datetime


class DigestEntry(Frozen):
    incident_id: str
    number: int
    title: str
    service: str = ""
    severity: Severity = Severity.LOW
    status: IncidentStatus
    opened_at: datetime


class UserDigest(Frozen):
    """One person's digest. `email` is empty when the applied config gives them no email method."""

    user_id: str
    email: str = ""
    contact_method_id: str = ""
    entries: list[DigestEntry] = Field(default_factory=list)


class DigestBatch(Frozen):
    users: list[UserDigest] = Field(default_factory=list)


class DigestResult(Frozen):
    """What the run did, per user id (also visible as the workflow result in the Temporal UI)."""

    period_end: datetime
    sent: list[str] = Field(default_factory=list)
    already_sent: list[str] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list)  # no email method in the applied config
    failed: list[str] = Field(default_factory=list)


def digest_key(user_id: str, period_end: datetime) -> str:
    """The idempotency key of one person's digest for one period."""
    return f"digest:{user_id}:{period_end.isoformat()}"


def digest_notification(digest: UserDigest, period_end: datetime) -> Notification:
    """The one DIGEST notification for `digest` (at least one entry, an email address)."""
    first = digest.entries[0]
    return Notification(
        idempotency_key=digest_key(digest.user_id, period_end), incident_id=first.incident_id,
        incident_number=first.number,
        title=f"{len(digest.entries)} low-severity incident(s) in your digest",
        severity=Severity.most_urgent([e.severity for e in digest.entries]),
        status=first.status, kind=NotificationKind.DIGEST,
        target=ContactTarget(kind=TargetKind.EMAIL, address=digest.email, user_id=digest.user_id,
                             contact_method_id=digest.contact_method_id),
        digest_items=[DigestItem(incident_id=e.incident_id, incident_number=e.number,
                                 title=f"{e.title} [{e.service}]" if e.service else e.title,
                                 severity=e.severity, status=e.status) for e in digest.entries])


@workflow.defn(name="DigestWorkflow")
class DigestWorkflow:
    @workflow.run
    async def run(self, inp: DigestInput) -> DigestResult:
        info = workflow.info()
        fired = info.typed_search_attributes.get(SCHEDULED_AT) or info.start_time
        until = inp.period_end or digest_period_start(fired, inp.period)
        batch = await workflow.execute_activity(
            fx.DIGEST_COLLECT.name, DigestRequest(since=until - inp.period, until=until),
            result_type=DigestBatch, summary="collect the digest", **fx.DIGEST_COLLECT.options())
        wanted = [d for d in batch.users if d.entries]
        mailable = [d for d in wanted if d.email]
        outcomes = await asyncio.gather(*(self._send(d, until) for d in mailable))
        by_outcome: dict[str, list[str]] = {"sent": [], "already_sent": [], "failed": []}
        for digest, outcome in zip(mailable, outcomes, strict=True):
            by_outcome[outcome].append(digest.user_id)
        result = DigestResult(period_end=until, **by_outcome,
                              skipped=[d.user_id for d in wanted if not d.email])
        if result.skipped:
            workflow.logger.warning("digest not sent to %s: no email method", result.skipped)
        return result

    async def _send(self, digest: UserDigest, until: datetime) -> str:
        """Send one digest; returns the name of the `DigestResult` list it belongs in."""
        n = digest_notification(digest, until)
        try:
            receipt = await workflow.execute_activity(
                fx.NOTIFY_SEND.name, SendNotification(notification=n, channel=DIGEST_CHANNEL),
                result_type=DeliveryReceipt, task_queue=fx.NOTIFY_TASK_QUEUE,
                summary=f"digest for {digest.user_id}",
                start_to_close_timeout=fx.NOTIFY_SEND.start_to_close,
                schedule_to_close_timeout=channel_budget(DIGEST_CHANNEL),
                retry_policy=fx.NOTIFY_SEND.retry)
        except ActivityError as err:
            workflow.logger.warning("digest for %s not delivered: %s", digest.user_id,
                                    err.cause or err)
            return "failed"
        return "already_sent" if receipt.duplicate else "sent"
