from __future__ import annotations

import pytest

from activities.notify.base import DeliveryError
from activities.notify.render import ACTION_ACK, ACTION_ESCALATE, ACTION_RESOLVE, ACTION_SNOOZE
from activities.notify.slack import SlackChannel, slack_client
from tests.activities.notify.conftest import page
from tests.vendors.slack import SlackServer
from workflows.domain.lifecycle import IncidentStatus
from workflows.domain.notifications import NotificationKind, TargetKind


@pytest.fixture
async def slack():
    async with SlackServer(token="xoxb-good") as server:
        yield server


def channel_for(server: SlackServer, token: str = "xoxb-good", timeout: float = 5.0):
    return SlackChannel(slack_client(token, server.url + "/api/", timeout), timeout=timeout)


def _buttons(message: dict) -> dict[str, str]:
    actions = [b for b in message["blocks"] if b["type"] == "actions"]
    return {e["action_id"]: e["value"] for e in actions[0]["elements"]} if actions else {}


async def test_page_posts_block_kit_with_buttons_and_key_in_metadata(slack):
    receipt = await channel_for(slack).send(page())
    [message] = slack.posts
    assert slack.received[0].headers["Authorization"] == "Bearer xoxb-good"
    assert message["channel"] == "C0ALERTS"
    assert message["metadata"]["event_payload"]["idempotency_key"] == "incident-abc:s0:c0:cm1"
    assert _buttons(message) == {ACTION_ACK: "inc-42", ACTION_RESOLVE: "inc-42",
                                 ACTION_ESCALATE: "inc-42", ACTION_SNOOZE: "inc-42"}
    assert "#42" in message["text"] and "P1" in message["text"]
    assert receipt.thread_ref == f"C0ALERTS:{message['ts']}"
    assert receipt.provider_message_id == message["ts"]


async def test_page_to_a_user_opens_a_direct_message(slack):
    receipt = await channel_for(slack).send(page(kind=TargetKind.SLACK_USER, address="UALICE"))
    assert [r.path for r in slack.received] == ["/api/conversations.open",
                                                "/api/chat.postMessage"]
    assert slack.posts[0]["channel"] == "DALICE"
    assert receipt.thread_ref.startswith("DALICE:")


async def test_follow_up_threads_and_updates_the_original_in_place(slack):
    channel = channel_for(slack)
    first = await channel.send(page())
    update = page(key="incident-abc:ack", status=IncidentStatus.ACKNOWLEDGED).model_copy(
        update={"kind": NotificationKind.UPDATE, "thread_ref": first.thread_ref})
    receipt = await channel.send(update)
    ts = first.thread_ref.split(":")[1]
    [reply] = slack.thread_replies("C0ALERTS", ts)
    assert "acknowledged" in reply["text"]
    original = slack.messages[("C0ALERTS", ts)]
    assert ACTION_ACK not in _buttons(original) and ACTION_RESOLVE in _buttons(original)
    assert receipt.thread_ref == first.thread_ref


async def test_resolved_message_loses_its_buttons(slack):
    channel = channel_for(slack)
    first = await channel.send(page())
    await channel.send(page(key="k-resolved", status=IncidentStatus.RESOLVED).model_copy(
        update={"kind": NotificationKind.RESOLVED, "thread_ref": first.thread_ref}))
    ts = first.thread_ref.split(":")[1]
    assert _buttons(slack.messages[("C0ALERTS", ts)]) == {}


async def test_wrong_token_is_a_permanent_failure(slack):
    with pytest.raises(DeliveryError) as err:
        await channel_for(slack, token="xoxb-bad").send(page())
    assert err.value.retryable is False and "invalid_auth" in err.value.message


async def test_unknown_channel_is_a_permanent_failure(slack):
    with pytest.raises(DeliveryError) as err:
        await channel_for(slack).send(page(address="#nope"))
    assert err.value.retryable is False


async def test_server_error_is_retryable(slack):
    slack.fail(500)
    with pytest.raises(DeliveryError) as err:
        await channel_for(slack).send(page())
    assert err.value.retryable is True and not slack.posts


async def test_rate_limit_carries_retry_after(slack):
    slack.fail(429, retry_after=17)
    with pytest.raises(DeliveryError) as err:
        await channel_for(slack).send(page())
    assert err.value.retryable is True and err.value.retry_after == 17.0


async def test_hanging_server_times_out_as_retryable(slack):
    slack.hang()
    with pytest.raises(DeliveryError) as err:
        await channel_for(slack, timeout=0.3).send(page())
    assert err.value.retryable is True and "in time" in err.value.message


async def test_server_recovering_after_two_failures_delivers_on_third_try(slack):
    slack.fail(500, times=2)
    channel = channel_for(slack)
    for _ in range(2):
        with pytest.raises(DeliveryError):
            await channel.send(page())
    await channel.send(page())
    assert len(slack.refused) == 2 and len(slack.posts) == 1
