"""Notifications: what the workflow asks a channel to deliver, and what comes back.

Pure: no I/O, clock or env; safe inside the Temporal sandbox. Every text field of a
`Notification` is already redacted by the time it is built: channels send it verbatim, so
nothing here or downstream may re-add raw alert payloads.

How a workflow pages one person (the contract with `activities.notify`):

    for step in chain:                      # ordered contact methods, e.g. Slack DM, SMS, voice
        n = Notification(idempotency_key=page_key(wf_id, step, cycle, method_id), ...)
        try:
            receipt = await workflow.execute_activity(
                SEND_ACTIVITY, SendNotification(notification=n, channel=kind),
                result_type=DeliveryReceipt, task_queue=NOTIFY_TASK_QUEUE,
                schedule_to_close_timeout=channel_budget(kind),
                start_to_close_timeout=ATTEMPT_TIMEOUT, retry_policy=<from NOTIFY_RETRY_*>)
            break                            # delivered (or already delivered: receipt.duplicate)
        except ActivityError as err:         # budget spent, rejected, or circuit open
            failures.append(failure_from(kind, n.target, err.cause))
    else:
        PageNotDelivered(...) -> open a "page not delivered" incident for the policy owner.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import Field

from workflows.domain.base import Frozen, Severity
from workflows.domain.lifecycle import IncidentStatus

# ---- names and budgets the workflow imports (public API: recorded in history) ---------------

SEND_ACTIVITY = "notify.send"
NOTIFY_TASK_QUEUE = "notifications"

# One attempt must finish in this time; it is also how a dead worker is detected.
ATTEMPT_TIMEOUT = timedelta(seconds=15)
# Retry policy for `notify.send` (Temporal owns retries; vendor SDK retries are off).
NOTIFY_RETRY_INITIAL = timedelta(seconds=2)
NOTIFY_RETRY_BACKOFF = 2.0
NOTIFY_RETRY_MAX_INTERVAL = timedelta(seconds=30)
NOTIFY_RETRY_MAX_ATTEMPTS = 0  # unlimited: the per-channel budget below is the real bound

# Whole retry budget per channel (schedule_to_close). After it, the chain falls back. SMS is
# longer than the per-person rate window so that a held page is bundled, not dropped.
_CHANNEL_BUDGETS: dict[str, timedelta] = {
    "slack": timedelta(seconds=60),
    "email": timedelta(seconds=120),
    "sms": timedelta(seconds=150),
    "voice": timedelta(seconds=90),
    "pagerduty": timedelta(seconds=60),
    "teams": timedelta(seconds=60),
    "webhook": timedelta(seconds=60),
    "recording": timedelta(seconds=10),
}
DEFAULT_CHANNEL_BUDGET = timedelta(seconds=60)

SMS_RATE_WINDOW = timedelta(minutes=1)
DIGEST_PERIOD = timedelta(hours=1)


def channel_budget(channel: str) -> timedelta:
    """schedule_to_close timeout for one channel step of a fallback chain."""
    return _CHANNEL_BUDGETS.get(channel, DEFAULT_CHANNEL_BUDGET)


class DeliveryErrorType(StrEnum):
    """`ApplicationError.type` values raised by `notify.send`, so the workflow can tell them apart."""

    FAILED = "DeliveryFailed"  # transient; Temporal retried until the budget ran out
    REJECTED = "DeliveryRejected"  # permanent (bad address, auth): retrying cannot help
    CIRCUIT_OPEN = "ChannelCircuitOpen"  # channel down for everyone: fall back at once
    DEFERRED = "DeliveryDeferred"  # held by the rate limit; the retry sends it bundled


# ---- the model ------------------------------------------------------------------------------


class NotificationKind(StrEnum):
    PAGE = "page"
    UPDATE = "update"
    RESOLVED = "resolved"
    DIGEST = "digest"


class TargetKind(StrEnum):
    SLACK_CHANNEL = "slack_channel"
    SLACK_USER = "slack_user"
    EMAIL = "email"
    SMS = "sms"
    VOICE = "voice"
    PAGERDUTY = "pagerduty"  # address = name of a configured routing key
    TEAMS = "teams"  # address = name of a configured incoming webhook
    WEBHOOK = "webhook"  # address = name of a configured endpoint
    RECORDING = "recording"


class ContactTarget(Frozen):
    """Where to deliver: an address, never a credential (those stay in settings)."""

    kind: TargetKind
    address: str
    user_id: str = ""
    contact_method_id: str = ""


class Link(Frozen):
    label: str
    url: str


class DigestItem(Frozen):
    incident_id: str
    incident_number: int
    title: str
    severity: Severity
    status: IncidentStatus


class Notification(Frozen):
    """One message for one target. `idempotency_key` is delivered at most once, ever."""

    idempotency_key: str
    incident_id: str
    incident_number: int
    title: str
    severity: Severity
    status: IncidentStatus = IncidentStatus.TRIGGERED
    kind: NotificationKind = NotificationKind.PAGE
    summary: str = ""
    links: list[Link] = Field(default_factory=list)
    target: ContactTarget
    # Receipt.thread_ref of the first message: follow-ups thread there and edit it in place.
    thread_ref: str | None = None
    # Set when a remediation awaits approval: chat surfaces offer an Approve button.
    proposal_id: str = ""
    digest_items: list[DigestItem] = Field(default_factory=list)

    @property
    def short_ref(self) -> str:
        return f"#{self.incident_number}"


class SendNotification(Frozen):
    """Input of `notify.send`: deliver `notification` through the channel of kind `channel`."""

    notification: Notification
    channel: str


class BundledPage(Frozen):
    """A page that rode along in another page's message (rate-limit bundling)."""

    idempotency_key: str
    incident_id: str
    incident_number: int


class DeliveryReceipt(Frozen):
    """Proof of delivery. `duplicate` means an earlier attempt already delivered this key."""

    channel: str
    target: ContactTarget
    provider_message_id: str = ""
    delivered_at: datetime
    duplicate: bool = False
    # Channel-specific handle for follow-ups (Slack "channel:ts"); pass it back in thread_ref.
    thread_ref: str | None = None
    # Other pages that rode along in this message (rate-limit bundling): delivered too.
    bundled: list[BundledPage] = Field(default_factory=list)


class DeliveryFailure(Frozen):
    channel: str
    target: ContactTarget
    error: str
    error_type: str = DeliveryErrorType.FAILED.value


class PageNotDelivered(Frozen):
    """Every channel of a person's chain failed: this must become an incident, not a log line."""

    incident_id: str
    incident_number: int
    user_id: str
    failures: list[DeliveryFailure]

    @property
    def dedup_key(self) -> str:
        return f"page-undelivered:{self.incident_id}:{self.user_id}"

    @property
    def title(self) -> str:
        channels = ", ".join(f.channel for f in self.failures) or "no channel"
        return f"Page for #{self.incident_number} not delivered to {self.user_id} ({channels})"


def page_key(workflow_id: str, step: int, cycle: int, contact_method_id: str) -> str:
    """The idempotency key of one page: stable across retries, replays and worker restarts."""
    return f"{workflow_id}:s{step}:c{cycle}:{contact_method_id}"


# ---- rendering (plain text; Block Kit and HTML live beside the channels) ---------------------

_VERB = {
    NotificationKind.PAGE: "PAGE",
    NotificationKind.UPDATE: "UPDATE",
    NotificationKind.RESOLVED: "RESOLVED",
    NotificationKind.DIGEST: "DIGEST",
}


def headline(n: Notification) -> str:
    """One line: "[P1 PAGE] #42 Checkout 5xx rate above 5% (triggered)"."""
    return f"[{n.severity.priority} {_VERB[n.kind]}] {n.short_ref} {n.title} ({n.status.value})"


def render_text(n: Notification) -> str:
    """Plain-text body for chat, email text parts and webhooks."""
    lines = [headline(n)]
    if n.summary:
        lines += ["", n.summary]
    if n.digest_items:
        lines += ["", *(f"- #{i.incident_number} [{i.severity.value}] {i.title} ({i.status.value})"
                        for i in n.digest_items)]
    lines += [f"{link.label}: {link.url}" for link in n.links]
    return "\n".join(lines)


SMS_MAX_TITLE = 60


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_sms(pages: list[Notification]) -> str:
    """Concise SMS for one or more pages (bundled), with reply codes for the newest one."""
    first = pages[-1]
    if len(pages) == 1:
        body = f"{first.severity.priority} {first.short_ref} {_clip(first.title, SMS_MAX_TITLE)}"
    else:
        refs = " ".join(p.short_ref for p in pages)
        body = f"{len(pages)} pages: {refs}. Latest {first.severity.priority} {first.short_ref} " \
               f"{_clip(first.title, SMS_MAX_TITLE // 2)}"
    if first.kind is NotificationKind.RESOLVED:
        return f"RESOLVED {first.short_ref} {_clip(first.title, SMS_MAX_TITLE)}"
    n = first.incident_number
    return f"{body}. Reply '{n} ack', '{n} resolve' or '{n} escalate'."


def render_voice_script(n: Notification) -> str:
    """What the call says before asking for a key press."""
    return (f"Incident {n.incident_number}, severity {n.severity.value}: "
            f"{_clip(n.title, 120)}.")


# ---- delivery policies ----------------------------------------------------------------------


class RateDecision(Frozen):
    send_now: bool
    wait: timedelta = timedelta(0)


def rate_decision(last_sent_at: datetime | None, now: datetime, window: timedelta) -> RateDecision:
    """At most one message per `window` per contact method: send now, or wait the remainder."""
    if last_sent_at is None or now - last_sent_at >= window:
        return RateDecision(send_now=True)
    return RateDecision(send_now=False, wait=window - (now - last_sent_at))


def wants_digest(n: Notification, threshold: Severity = Severity.LOW) -> bool:
    """Low-severity updates go to the periodic digest instead of an immediate email."""
    return n.severity.rank >= threshold.rank and n.kind is not NotificationKind.RESOLVED


def digest_period_start(at: datetime, period: timedelta) -> datetime:
    """Start of the digest period containing `at` (periods aligned to the Unix epoch)."""
    epoch = datetime(1970, 1, 1, tzinfo=at.tzinfo)
    whole = (at - epoch) // period
    return epoch + whole * period


def batch_for_digest(
    items: list[tuple[datetime, Notification]], period: timedelta
) -> list[Notification]:
    """Group (seen_at, notification) pairs into one digest notification per address and period.

    Keys are derived from address + period start, so re-batching the same inputs is idempotent.
    Order inside a digest follows the order seen; digests are sorted by (period, address).
    """
    groups: dict[tuple[datetime, str], list[Notification]] = {}
    for at, n in items:
        groups.setdefault((digest_period_start(at, period), n.target.address), []).append(n)
    digests = []
    for (start, address), members in sorted(groups.items(), key=lambda kv: kv[0]):
        first = members[0]
        digests.append(Notification(
            idempotency_key=f"digest:{address}:{start.isoformat()}",
            incident_id=first.incident_id, incident_number=first.incident_number,
            title=f"{len(members)} low-severity incident update(s)",
            severity=Severity.most_urgent([m.severity for m in members]),
            kind=NotificationKind.DIGEST, target=first.target,
            digest_items=[DigestItem(incident_id=m.incident_id, incident_number=m.incident_number,
                                     title=m.title, severity=m.severity, status=m.status)
                          for m in members]))
    return digests
