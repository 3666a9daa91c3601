"""Rich renderings built from the pure text ones: Slack Block Kit, Teams Adaptive Card, email.

Action ids are public API: the Slack listeners in `api/slack` match on them.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from workflows.domain.lifecycle import IncidentStatus
from workflows.domain.notifications import Notification, headline, render_text

ACTION_ACK = "incident_ack"
ACTION_RESOLVE = "incident_resolve"
ACTION_ESCALATE = "incident_escalate"
ACTION_SNOOZE = "incident_snooze"
ACTION_APPROVE = "remediation_approve"
APPROVE_SEPARATOR = "|"  # value of the approve button: "<incident id>|<proposal id>"


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict:
    button = {"type": "button", "action_id": action_id, "value": value,
              "text": {"type": "plain_text", "text": text}}
    if style:
        button["style"] = style
    return button


def slack_buttons(n: Notification) -> list[dict]:
    """The buttons that make sense in the incident's current status (none once resolved)."""
    if n.status is IncidentStatus.RESOLVED:
        return []
    buttons = []
    if n.status is IncidentStatus.TRIGGERED:
        buttons.append(_button("Acknowledge", ACTION_ACK, n.incident_id, "primary"))
    buttons += [
        _button("Resolve", ACTION_RESOLVE, n.incident_id),
        _button("Escalate", ACTION_ESCALATE, n.incident_id, "danger"),
        _button("Snooze 30m", ACTION_SNOOZE, n.incident_id),
    ]
    if n.proposal_id:
        value = f"{n.incident_id}{APPROVE_SEPARATOR}{n.proposal_id}"
        buttons.append(_button("Approve remediation", ACTION_APPROVE, value, "primary"))
    return buttons


def slack_blocks(n: Notification) -> list[dict]:
    """Block Kit for the incident message (also used to re-render it in place)."""
    blocks: list[dict] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{headline(n)}*"}},
    ]
    if n.summary:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": n.summary[:2900]}})
    if n.links:
        links = " · ".join(f"<{link.url}|{link.label}>" for link in n.links)
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": links}]})
    buttons = slack_buttons(n)
    if buttons:
        blocks.append({"type": "actions", "block_id": f"incident:{n.incident_id}",
                       "elements": buttons})
    return blocks


def teams_card(n: Notification) -> dict:
    """An incoming-webhook message carrying one Adaptive Card."""
    body: list[dict] = [
        {"type": "TextBlock", "text": headline(n), "weight": "Bolder", "wrap": True},
    ]
    if n.summary:
        body.append({"type": "TextBlock", "text": n.summary, "wrap": True})
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard", "version": "1.4", "body": body,
        "actions": [{"type": "Action.OpenUrl", "title": link.label, "url": link.url}
                    for link in n.links],
    }
    return {"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}]}


@lru_cache(maxsize=1)
def _templates() -> Environment:
    return Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(["html"]),
    )


def email_subject(n: Notification) -> str:
    return headline(n)


def email_html(n: Notification) -> str:
    return _templates().get_template("email.html").render(n=n, headline=headline(n))


def email_text(n: Notification) -> str:
    return render_text(n)
