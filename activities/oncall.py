"""`oncall.snapshot`: who an escalation policy reaches at one instant, read from the applied config.

Returns only what the ladder needs (the policy, the people its targets resolve to at `at`, their
contact methods, rules, business hours and time zone, and the team's fallback), never the whole
configuration, so workflow history stays small and free of unrelated data.
"""

from __future__ import annotations

import asyncio

from temporalio import activity

from infra.config.store import ConfigStore
from infra.settings.escalation import EscalationSettings
from workflows import side_effects as fx
from workflows.domain.config import ConfigDocument
from workflows.domain.escalation import resolve_targets
from workflows.escalation_flow import OncallRequest, OncallSnapshot, target_key


class OncallActivities:
    def __init__(self, store: ConfigStore, settings: EscalationSettings, link_base: str = "") -> None:
        self._store = store
        self._settings = settings
        self._link_base = link_base.rstrip("/")

    @activity.defn(name=fx.ONCALL_SNAPSHOT.name)
    async def snapshot(self, request: OncallRequest) -> OncallSnapshot:
        """Read-only and idempotent: Temporal may retry it freely."""
        return await asyncio.to_thread(self.build, request)

    def build(self, request: OncallRequest) -> OncallSnapshot:
        applied = self._store.current()
        doc = applied.document if applied else ConfigDocument()
        policy = doc.policy(request.policy_id)
        targets = [t for step in (policy.steps if policy else []) for t in step.notify]
        resolved = {target_key(t): resolve_targets([t], doc, request.at) for t in targets}
        team = doc.team(request.team) if request.team else None
        fallback = resolve_targets([team.fallback], doc, request.at) if team and team.fallback else []
        wanted = [u for ids in resolved.values() for u in ids] + fallback + request.user_ids
        users = [user for user_id in dict.fromkeys(wanted) if (user := doc.user(user_id))]
        return OncallSnapshot(
            policy=policy, adjustments=self._settings.severity,
            default_repeat=self._settings.default_repeat, resolved=resolved,
            team_fallback=fallback, team_channel=team.slack_channel if team else "",
            users=users, link_base=self._link_base)
