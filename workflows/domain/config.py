"""Configuration as code: the models behind `lim.yaml`.

Everything is strict (`extra="forbid"`) and frozen, so a typo is an error rather than a silently
ignored key, and a loaded document can travel through workflow history unchanged. References
between objects (a route naming a policy, a rule naming a contact method) are checked separately
by `config_validation.validate_references`, which reports every problem instead of the first.
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from enum import StrEnum
from typing import Literal, TypeVar

from pydantic import AwareDatetime, ConfigDict, Field, field_validator, model_validator

from workflows.domain.base import Strict
from workflows.domain.config_types import Duration, TimeWindow, TimeZoneName, Weekday
from workflows.domain.schedule_model import Schedule

DEFAULT_GROUP_BY = ["alertname", "service", "env"]


class ContactKind(StrEnum):
    SLACK = "slack"
    EMAIL = "email"
    SMS = "sms"
    VOICE = "voice"
    WEBHOOK = "webhook"
    PAGERDUTY = "pagerduty"
    TEAMS = "teams"

    @property
    def urgent(self) -> bool:
        """Channels that interrupt a person (all but email and webhook)."""
        return self not in (ContactKind.EMAIL, ContactKind.WEBHOOK)


class ContactMethod(Strict):
    """One way to reach a person. `id` is unique across the whole document: page idempotency
    keys are built from it."""

    id: str
    kind: ContactKind
    address: str


class Urgency(StrEnum):
    """Critical and high incidents are high urgency; medium and low are low urgency."""

    ANY = "any"
    HIGH = "high"
    LOW = "low"


class NotificationRule(Strict):
    """Notify through contact method `method` once a page is `after` old (`after: 0m` = at once)."""

    method: str
    after: Duration = timedelta(0)
    urgency: Urgency = Urgency.ANY


def _office_hours() -> TimeWindow:
    return TimeWindow(days=[Weekday(d) for d in ("mon", "tue", "wed", "thu", "fri")],
                      start=time(9), end=time(17))


class User(Strict):
    id: str
    name: str = ""
    email: str = ""
    phone: str = ""
    slack_user_id: str = ""
    time_zone: TimeZoneName = "UTC"
    contact_methods: list[ContactMethod] = Field(default_factory=list)
    notification_rules: list[NotificationRule] = Field(default_factory=list)
    # In the user's own time zone; medium-severity pages wait for it.
    business_hours: TimeWindow = Field(default_factory=_office_hours)
    # When a method fails, the person's other methods are tried in this order of kinds; empty:
    # the route's order, else Slack → email → webhook.
    fallback_chain: list[ContactKind] = Field(default_factory=list)


class Target(Strict):
    """Whom an escalation step notifies: exactly one of a schedule, a user or a team."""

    schedule: str | None = None
    user: str | None = None
    team: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Target:
        if sum(v is not None for v in (self.schedule, self.user, self.team)) != 1:
            raise ValueError("a target names exactly one of schedule, user or team")
        return self

    @property
    def kind(self) -> Literal["schedule", "user", "team"]:
        if self.schedule is not None:
            return "schedule"
        return "user" if self.user is not None else "team"

    @property
    def ref(self) -> str:
        return self.schedule or self.user or self.team or ""


class Team(Strict):
    """A team; `fallback` is paged when a step for this team's services resolves to nobody."""

    id: str
    name: str = ""
    members: list[str] = Field(default_factory=list)
    slack_channel: str = ""
    fallback: Target | None = None


class Service(Strict):
    id: str
    name: str = ""
    team: str = ""
    escalation_policy: str = ""
    depends_on: list[str] = Field(default_factory=list)
    tags: dict[str, str] = Field(default_factory=dict)


class EscalationStep(Strict):
    """Notify `notify` once the current cycle is `after` old (see `escalation.plan_ladder`)."""

    after: Duration = timedelta(0)
    notify: list[Target] = Field(min_length=1)


class EscalationPolicy(Strict):
    """A ladder of steps, run `repeat` times in total while nobody acknowledges.

    Without `repeat` the deployment's default applies (`LIM_ESCALATION__DEFAULT_REPEAT`, 3).

    `repeat_after` is the pause between the last step of a cycle and the next cycle; when absent
    the severity cadence decides it.
    """

    id: str
    name: str = ""
    description: str = ""
    repeat: int | None = Field(default=None, ge=1, le=20)
    repeat_after: Duration | None = None
    steps: list[EscalationStep] = Field(min_length=1)

    @model_validator(mode="after")
    def _steps_in_order(self) -> EscalationPolicy:
        afters = [step.after for step in self.steps]
        if afters != sorted(afters):
            raise ValueError("steps must be listed in order of their `after` delay")
        return self


class Matchers(Strict):
    """Exact (`match`) and regular-expression (`match_re`, whole value) label conditions."""

    match: dict[str, str] = Field(default_factory=dict)
    match_re: dict[str, str] = Field(default_factory=dict)

    @field_validator("match_re")
    @classmethod
    def _compiles(cls, patterns: dict[str, str]) -> dict[str, str]:
        for key, pattern in patterns.items():
            try:
                re.compile(pattern)
            except re.error as exc:
                message = f"{key}: {pattern!r} is not a valid regex ({exc})"
                raise ValueError(message) from exc
        return patterns


class Route(Matchers):
    """First matching route wins unless it says `continue: true` (Alertmanager semantics)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    id: str = ""
    escalation_policy: str = ""
    group_by: list[str] = Field(default_factory=lambda: list(DEFAULT_GROUP_BY))
    auto_resolve: bool = True
    # false: one incident across clusters/regions/envs, for alerts that are one problem wherever
    # they fire (a shared certificate, a global quota). See `workflows.domain.grouping`.
    split_by_scope: bool = True
    continue_: bool = Field(default=False, alias="continue")
    # Order of contact-method kinds tried when a page fails, for incidents of this route
    # (a person's own `fallback_chain` wins); empty: Slack → email → webhook.
    fallback_chain: list[ContactKind] = Field(default_factory=list)


class MaintenanceWindow(Matchers):
    """Alerts for `services` (or matching the matchers) page nobody from `start` until `end`."""

    id: str = ""
    services: list[str] = Field(default_factory=list)
    start: AwareDatetime
    end: AwareDatetime
    comment: str = ""

    @model_validator(mode="after")
    def _ends_after_start(self) -> MaintenanceWindow:
        if self.end <= self.start:
            raise ValueError("maintenance window end must be after its start")
        if not (self.services or self.match or self.match_re):
            raise ValueError("a maintenance window needs services or matchers")
        return self


class Silence(Matchers):
    """Alerts matching the matchers page nobody until `until`."""

    id: str = ""
    until: AwareDatetime
    comment: str
    created_by: str = ""

    @model_validator(mode="after")
    def _has_matchers(self) -> Silence:
        if not (self.match or self.match_re):
            raise ValueError("a silence needs at least one matcher")
        return self


class ConfigDocument(Strict):
    """The whole configuration, as one versioned document."""

    version: Literal[1] = 1
    default_escalation_policy: str = ""
    users: list[User] = Field(default_factory=list)
    teams: list[Team] = Field(default_factory=list)
    services: list[Service] = Field(default_factory=list)
    schedules: list[Schedule] = Field(default_factory=list)
    escalation_policies: list[EscalationPolicy] = Field(default_factory=list)
    routes: list[Route] = Field(default_factory=list)
    maintenance_windows: list[MaintenanceWindow] = Field(default_factory=list)
    silences: list[Silence] = Field(default_factory=list)

    def user(self, user_id: str) -> User | None:
        return find(self.users, user_id)

    def team(self, team_id: str) -> Team | None:
        return find(self.teams, team_id)

    def service(self, service_id: str) -> Service | None:
        return find(self.services, service_id)

    def schedule(self, schedule_id: str) -> Schedule | None:
        return find(self.schedules, schedule_id)

    def policy(self, policy_id: str) -> EscalationPolicy | None:
        return find(self.escalation_policies, policy_id)


_Item = TypeVar("_Item", User, Team, Service, Schedule, EscalationPolicy)


def find(items: list[_Item], item_id: str) -> _Item | None:
    """The item with `id` equal to `item_id` (the first, if duplicated), else None."""
    return next((item for item in items if item.id == item_id), None)
