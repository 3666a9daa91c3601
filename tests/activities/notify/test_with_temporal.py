"""`notify.send` on a real (time-skipping) Temporal worker, driven by a fallback-chain workflow
written the way the incident workflow is meant to call it."""

from __future__ import annotations

import uuid

import pytest
from pydantic import Field
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from activities.notify.activity import NotifyActivities
from activities.notify.guards import Breakers
from activities.notify.recording import RecordingChannel
from activities.notify.slack import SlackChannel, slack_client
from tests.activities.notify.conftest import page
from tests.vendors.slack import SlackServer
from workflows.domain.base import Frozen
from workflows.domain.notifications import (
    ATTEMPT_TIMEOUT,
    NOTIFY_RETRY_BACKOFF,
    NOTIFY_RETRY_INITIAL,
    NOTIFY_RETRY_MAX_INTERVAL,
    SEND_ACTIVITY,
    DeliveryFailure,
    DeliveryReceipt,
    SendNotification,
    channel_budget,
)


class Chain(Frozen):
    steps: list[SendNotification]


class ChainResult(Frozen):
    receipt: DeliveryReceipt | None = None
    failures: list[DeliveryFailure] = Field(default_factory=list)


@workflow.defn(name="test.notify_chain")
class NotifyChainWorkflow:
    @workflow.run
    async def run(self, chain: Chain) -> ChainResult:
        failures = []
        for step in chain.steps:
            try:
                receipt = await workflow.execute_activity(
                    SEND_ACTIVITY, step, result_type=DeliveryReceipt,
                    schedule_to_close_timeout=channel_budget(step.channel),
                    start_to_close_timeout=ATTEMPT_TIMEOUT,
                    retry_policy=RetryPolicy(initial_interval=NOTIFY_RETRY_INITIAL,
                                             backoff_coefficient=NOTIFY_RETRY_BACKOFF,
                                             maximum_interval=NOTIFY_RETRY_MAX_INTERVAL))
                return ChainResult(receipt=receipt, failures=failures)
            except ActivityError as err:
                cause = err.cause
                kind = cause.type if isinstance(cause, ApplicationError) else type(cause).__name__
                failures.append(DeliveryFailure(channel=step.channel,
                                                target=step.notification.target,
                                                error=str(cause), error_type=kind or ""))
        return ChainResult(failures=failures)


@pytest.fixture
async def slack():
    async with SlackServer(token="xoxb-good") as server:
        yield server


async def run_chain(env, acts: NotifyActivities, steps: list[SendNotification]) -> ChainResult:
    queue = f"notify-{uuid.uuid4().hex[:8]}"
    async with Worker(env.client, task_queue=queue, workflows=[NotifyChainWorkflow],
                      activities=[acts.send], workflow_runner=UnsandboxedWorkflowRunner()):
        return await env.client.execute_workflow(
            NotifyChainWorkflow.run, Chain(steps=steps), id=f"wf-{queue}", task_queue=queue,
            result_type=ChainResult)


def _acts(slack, ledger, token: str = "xoxb-good") -> NotifyActivities:
    channels = {"slack": SlackChannel(slack_client(token, slack.url + "/api/", 5)),
                "recording": RecordingChannel()}
    return NotifyActivities(channels, ledger, Breakers(5, 30.0))


STEPS = [SendNotification(notification=page(), channel="slack"),
         SendNotification(notification=page(key="k-rec"), channel="recording")]


async def test_rejected_channel_falls_back_to_the_next_one_at_once(temporal_env, slack, ledger):
    result = await run_chain(temporal_env, _acts(slack, ledger, token="xoxb-bad"), STEPS)
    assert result.receipt is not None and result.receipt.channel == "recording"
    assert [f.error_type for f in result.failures] == ["DeliveryRejected"]


async def test_throttled_channel_is_retried_after_retry_after_and_delivers(
        temporal_env, slack, ledger):
    slack.fail(429, times=1, retry_after=20)
    result = await run_chain(temporal_env, _acts(slack, ledger), STEPS)
    assert result.receipt is not None and result.receipt.channel == "slack"
    assert len(slack.refused) == 1 and len(slack.posts) == 1


async def test_every_channel_failing_reports_each_failure(temporal_env, slack, ledger):
    slack.fail(500)
    steps = [STEPS[0], SendNotification(notification=page(key="k-x"), channel="teams")]
    result = await run_chain(temporal_env, _acts(slack, ledger), steps)
    assert result.receipt is None
    assert [f.channel for f in result.failures] == ["slack", "teams"]
    assert result.failures[1].error_type == "DeliveryRejected"  # channel not enabled
