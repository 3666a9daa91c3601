"""Every activity a workflow may call, with its timeouts and retry policy, in one place.

Names are public API (they are recorded in history): never rename one, add a new one.
Workflows call activities by these names so that activity code (DB drivers, SDKs) never enters
the workflow sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from temporalio.common import RetryPolicy

TASK_QUEUE = "incidents"


@dataclass(frozen=True)
class ActivitySpec:
    name: str
    start_to_close: timedelta
    schedule_to_close: timedelta | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def options(self) -> dict:
        """Keyword options for `workflow.execute_activity`."""
        return {
            "start_to_close_timeout": self.start_to_close,
            "schedule_to_close_timeout": self.schedule_to_close,
            "retry_policy": self.retry,
        }


# Projection to the read model: must eventually succeed (the DB may be briefly down), so it
# retries with capped backoff and no attempt limit; each attempt is short.
RECORD_INCIDENT = ActivitySpec(
    name="record.incident",
    start_to_close=timedelta(seconds=15),
    retry=RetryPolicy(initial_interval=timedelta(milliseconds=200),
                      maximum_interval=timedelta(seconds=30)),
)


# ---- paging (activities run on their own task queue, scaled and rate-limited separately) ----

NOTIFY_TASK_QUEUE = "notifications"

# One channel attempt; `schedule_to_close` is per channel (`channel_budget(kind)` in
# workflows.domain.notifications) so a dead channel costs its budget, then the chain falls back.
NOTIFY_SEND = ActivitySpec(
    name="notify.send",
    start_to_close=timedelta(seconds=15),
    schedule_to_close=timedelta(seconds=60),
    retry=RetryPolicy(initial_interval=timedelta(seconds=2), backoff_coefficient=2.0,
                      maximum_interval=timedelta(seconds=30),
                      non_retryable_error_types=["DeliveryRejected", "ChannelCircuitOpen",
                                                 "ChannelNotConfigured", "InvalidRecipient"]),
)

# Who is on call for a policy right now: read from the applied configuration. Short and
# retried: a config read that fails must not stall the ladder for long.
ONCALL_SNAPSHOT = ActivitySpec(
    name="oncall.snapshot",
    start_to_close=timedelta(seconds=10),
    retry=RetryPolicy(initial_interval=timedelta(milliseconds=500),
                      maximum_interval=timedelta(seconds=10), maximum_attempts=10),
)

# A page no channel could deliver becomes an incident of its own (stored as an alert from source
# `lim`, so it takes the normal outbox -> signal-with-start path). Retried without limit: losing
# it would hide that someone was not paged.
RAISE_PAGE_NOT_DELIVERED = ActivitySpec(
    name="incident.page_not_delivered",
    start_to_close=timedelta(seconds=15),
    retry=RetryPolicy(initial_interval=timedelta(milliseconds=500),
                      maximum_interval=timedelta(seconds=30)),
)

# ---- analysis: bounded, because the local analyzer answers when Claude cannot --------------

_LLM_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10),
                         maximum_attempts=3, non_retryable_error_types=["BudgetExhausted"])

LLM_CLASSIFY = ActivitySpec(name="llm.classify", start_to_close=timedelta(seconds=45), retry=_LLM_RETRY)
LLM_DIAGNOSE = ActivitySpec(name="llm.diagnose", start_to_close=timedelta(seconds=60), retry=_LLM_RETRY)
LLM_POSTMORTEM = ActivitySpec(name="llm.postmortem", start_to_close=timedelta(seconds=60),
                              retry=_LLM_RETRY)

# Incident analysis: each activity reads its own evidence from the DB (only ids and small
# answers pass through history) and asks the analyzer; bounded like the llm.* calls.
ANALYZE_CLASSIFY = ActivitySpec(name="analysis.classify", start_to_close=timedelta(seconds=45),
                                retry=_LLM_RETRY)
ANALYZE_DIAGNOSE = ActivitySpec(name="analysis.diagnose", start_to_close=timedelta(seconds=90),
                                retry=_LLM_RETRY)
ANALYZE_POSTMORTEM = ActivitySpec(name="analysis.postmortem", start_to_close=timedelta(seconds=90),
                                  retry=_LLM_RETRY)

# Storing an answer is separate from producing it, so a DB hiccup retries the cheap write
# (unbounded, like RECORD_INCIDENT) and never re-runs a paid LLM call.
RECORD_ANALYSIS = ActivitySpec(
    name="record.analysis",
    start_to_close=timedelta(seconds=15),
    retry=RetryPolicy(initial_interval=timedelta(milliseconds=200),
                      maximum_interval=timedelta(seconds=30)),
)

# ---- the low-severity digest ----------------------------------------------------------------

# Read-only (timeline + incidents + applied config): retried freely, bounded so one bad period
# fails that run (visible in the Schedule's recent actions) instead of hanging until the next.
DIGEST_COLLECT = ActivitySpec(
    name="digest.collect",
    start_to_close=timedelta(seconds=30),
    retry=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30),
                      maximum_attempts=20),
)
