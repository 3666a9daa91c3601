"""The Slack Bolt app: incident buttons and the `/incident` slash command.

Bolt verifies every request's signature (v0 HMAC of "v0:{timestamp}:{body}" with the signing
secret, timestamps older than 5 minutes refused). Listeners ack at once, act through
`IncidentActions` only (never Temporal or a vendor directly), then answer: button results go
into the incident message's thread, slash-command results to the command's response_url.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from activities.notify.render import (
    ACTION_ACK,
    ACTION_APPROVE,
    ACTION_ESCALATE,
    ACTION_RESOLVE,
    ACTION_SNOOZE,
    APPROVE_SEPARATOR,
)
from api.actions import IncidentActions
from api.slack.commands import BadCommand, ChatCommand, Verb, parse_command, perform
from api.slack.users import SlackUserDirectory
from infra.settings.notify import SlackSettings

SLASH_COMMAND = "/incident"
EVENTS_PATH = "/slack/events"
_BUTTON_VERBS = {ACTION_ACK: Verb.ACK, ACTION_RESOLVE: Verb.RESOLVE,
                 ACTION_ESCALATE: Verb.ESCALATE, ACTION_SNOOZE: Verb.SNOOZE,
                 ACTION_APPROVE: Verb.APPROVE}
NOT_LINKED = "Your Slack account is not linked to a responder, so this was not done."


def build_slack_app(
    settings: SlackSettings, actions: IncidentActions, users: SlackUserDirectory, *,
    client: AsyncWebClient | None = None, process_before_response: bool = False,
) -> AsyncApp:
    """A Bolt app wired to `actions`. `client` defaults to one built from settings (its
    base_url lets tests point it at a local Slack)."""
    if settings.signing_secret is None or (client is None and settings.bot_token is None):
        raise ValueError("Slack needs notify.slack.signing_secret and notify.slack.bot_token")
    client = client or AsyncWebClient(
        token=settings.bot_token.get_secret_value(), base_url=settings.base_url,  # type: ignore[union-attr]
        retry_handlers=[])
    app = AsyncApp(signing_secret=settings.signing_secret.get_secret_value(), client=client,
                   process_before_response=process_before_response)
    for action_id, verb in _BUTTON_VERBS.items():
        app.action(action_id)(_button_listener(verb, actions, users))
    app.command(SLASH_COMMAND)(_command_listener(actions, users))
    return app


def slack_router(app: AsyncApp) -> APIRouter:
    """FastAPI router exposing the app at POST /slack/events."""
    handler = AsyncSlackRequestHandler(app)
    router = APIRouter()

    @router.post(EVENTS_PATH, include_in_schema=False)
    async def slack_events(request: Request):
        return await handler.handle(request)

    return router


def _button_command(verb: Verb, value: str) -> ChatCommand:
    if verb is Verb.APPROVE:
        incident_id, _, proposal_id = value.partition(APPROVE_SEPARATOR)
        return ChatCommand(verb=verb, incident_ref=incident_id, proposal_id=proposal_id)
    return ChatCommand(verb=verb, incident_ref=value)


def _button_listener(verb: Verb, actions: IncidentActions, users: SlackUserDirectory
                     ) -> Callable[..., Awaitable[None]]:
    async def on_button(ack, body: dict, action: dict, client: AsyncWebClient) -> None:
        await ack()
        container = body.get("container", {})
        channel = container.get("channel_id") or body.get("channel", {}).get("id")
        message = body.get("message", {})
        thread_ts = message.get("thread_ts") or container.get("message_ts")
        actor = users.actor_for(body["user"]["id"])
        if actor is None:
            text = NOT_LINKED
        else:
            # action_ts is unique per click and identical on Slack's own redeliveries.
            request_id = f"slack:{action.get('action_ts') or body.get('trigger_id')}"
            text = await perform(actions, _button_command(verb, action["value"]), actor,
                                 request_id)
        await client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text)

    return on_button


def _command_listener(actions: IncidentActions, users: SlackUserDirectory
                      ) -> Callable[..., Awaitable[None]]:
    async def on_command(ack, command: dict, respond) -> None:
        await ack()
        try:
            parsed = parse_command(command.get("text", ""))
        except BadCommand as bad:
            await respond(str(bad))
            return
        actor = users.actor_for(command["user_id"])
        if actor is None:
            await respond(NOT_LINKED)
            return
        request_id = f"slack-cmd:{command.get('trigger_id', '')}"
        await respond(await perform(actions, parsed, actor, request_id))

    return on_command
