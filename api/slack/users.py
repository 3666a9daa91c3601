"""Which product user a Slack user is. Unmapped Slack users cannot act on incidents."""

from __future__ import annotations

from typing import Protocol

from workflows.domain.base import Actor


class SlackUserDirectory(Protocol):
    def actor_for(self, slack_user_id: str) -> Actor | None: ...


class StaticSlackUsers:
    """A directory from a fixed mapping (config-as-code or tests)."""

    def __init__(self, mapping: dict[str, Actor]):
        self._mapping = dict(mapping)

    def actor_for(self, slack_user_id: str) -> Actor | None:
        return self._mapping.get(slack_user_id)
