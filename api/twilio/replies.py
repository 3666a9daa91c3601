"""SMS reply grammar: "<n> ack|resolve|escalate", "ack <n>", or a bare verb for the latest page."""

from __future__ import annotations

from api.slack.commands import ChatCommand, Verb

_VERBS = {"ack": Verb.ACK, "a": Verb.ACK, "acknowledge": Verb.ACK,
          "resolve": Verb.RESOLVE, "res": Verb.RESOLVE, "r": Verb.RESOLVE,
          "escalate": Verb.ESCALATE, "esc": Verb.ESCALATE, "e": Verb.ESCALATE}
DIGITS = {"1": Verb.ACK, "2": Verb.ESCALATE}
HELP = "Reply '<number> ack', '<number> resolve' or '<number> escalate' (or just 'ack')."


def parse_sms(body: str) -> tuple[Verb, str | None] | None:
    """(verb, incident number or None for "the latest page"), or None if not understood."""
    words = body.strip().lower().replace("#", "").split()
    if not words or len(words) > 2:
        return None
    if len(words) == 1:
        verb = _VERBS.get(words[0])
        return (verb, None) if verb else None
    first, second = words
    if first.isdigit() and second in _VERBS:
        return _VERBS[second], first
    if second.isdigit() and first in _VERBS:
        return _VERBS[first], second
    return None


def command_for(verb: Verb, ref: str) -> ChatCommand:
    return ChatCommand(verb=verb, incident_ref=ref)
