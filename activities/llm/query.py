"""Questions about incidents → a structured `IncidentFilter`, with what was understood.

    parse_incident_query("show me all database outages this week", now)
    → IncidentFilter(category=database, since=<Monday 00:00>), "category=database; since ..."

Two parsers answer with the same model. The local one is deterministic: keyword tables for
categories, statuses and severities, plus relative time phrases; a word it did not understand
becomes the `service` only when it looks like one ("for checkout", "on payments-db").
`IncidentQueryParser` asks Claude first when a key is configured, validates the answer strictly
(unknown fields or values, naive or future times are refused), and falls back to the local
parser on any LLM failure: every answer says which parser answered and why the local one did.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from activities.llm.claude import (
    ClaudeClient,
    LlmAnswerInvalid,
    LlmError,
    parse_answer,
    tool_spec,
)
from infra.settings.ai import AiSettings
from workflows.domain.analysis import Category, IncidentFilter, TokenUsage
from workflows.domain.base import Frozen, Severity

_CATEGORY_WORDS: list[tuple[str, Category]] = [
    (r"database|\bdb\b|postgres|mysql|redis|mongo", Category.DATABASE),
    (r"\bgpu|accelerator|cuda", Category.GPU_ACCELERATOR),
    (r"network|dns|packet", Category.NETWORK),
    (r"security|breach|intrusion|certificate", Category.SECURITY),
    (r"drift", Category.DRIFT),
    (r"hallucinat|toxic|accuracy|model quality", Category.MODEL_QUALITY),
    (r"cost|quota|spend|budget|rate.?limit", Category.COST_QUOTA),
    (r"inference|model serving|serving|latency of (the )?model", Category.MODEL_SERVING),
    (r"third.?party|vendor|external|provider", Category.EXTERNAL_DEPENDENCY),
    (r"infrastructure|infra\b|host|node|disk|kubernetes", Category.INFRASTRUCTURE),
    (r"application|\bapp\b|errors? rate|5xx", Category.APPLICATION),
]
_STATUS_WORDS = [
    (r"\bopen\b|ongoing|active|unresolved|current", "open"),
    (r"unacknowledged|not acknowledged|triggered", "triggered"),
    (r"acknowledged|acked", "acknowledged"),
    (r"resolved|closed|past|fixed", "resolved"),
]
_SEVERITY_WORDS = [
    (r"critical|\bp1\b|sev ?1", [Severity.CRITICAL]),
    (r"\bhigh\b|\bp2\b|sev ?2|major", [Severity.HIGH]),
    (r"\bmedium\b|\bp3\b", [Severity.MEDIUM]),
    (r"\blow\b|minor", [Severity.LOW]),
    (r"outages?|\bdown\b", [Severity.CRITICAL, Severity.HIGH]),  # an outage pages: P1 or P2
]
_SERVICE = re.compile(
    r"\b(?:for|on|in|of|affecting) (?:the )?([a-z][a-z0-9-]*[a-z0-9])(?: service)?\b"
)
_NOT_SERVICES = {"the", "this", "last", "past", "all", "today", "yesterday", "week", "month"}


def _time_range(text: str, now: datetime) -> tuple[datetime | None, datetime | None, str]:
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if m := re.search(r"(?:last|past) (\d+) (hour|day|week|month)s?", text):
        n, unit = int(m.group(1)), m.group(2)
        days = {"hour": n / 24, "day": n, "week": 7 * n, "month": 30 * n}[unit]
        return now - timedelta(days=days), None, m.group(0)
    table = {
        "today": (day, None),
        "yesterday": (day - timedelta(days=1), day),
        "this week": (day - timedelta(days=now.weekday()), None),
        "last week": (day - timedelta(days=now.weekday() + 7), day - timedelta(days=now.weekday())),
        "this month": (day.replace(day=1), None),
        "last 24 hours": (now - timedelta(hours=24), None),
    }
    for phrase, (since, until) in table.items():
        if phrase in text:
            return since, until, phrase
    return None, None, ""


def _first(table, text):
    return next((value for pattern, value in table if re.search(pattern, text)), None)


def parse_incident_query(text: str, now: datetime) -> tuple[IncidentFilter, str]:
    """A filter for `text` relative to `now`, and a sentence saying which filter was used."""
    lowered = text.lower()
    category = _first(_CATEGORY_WORDS, lowered)
    status = _first(_STATUS_WORDS, lowered)
    severities = _first(_SEVERITY_WORDS, lowered) or []
    since, until, phrase = _time_range(lowered, now)
    service = ""
    for m in _SERVICE.finditer(lowered):
        if m.group(1) not in _NOT_SERVICES and not re.fullmatch(r"\d+", m.group(1)):
            service = m.group(1)
            break
    flt = IncidentFilter(
        category=category,
        status=status,
        severities=list(severities),
        service=service,
        since=since,
        until=until,
    )
    used = describe(flt)
    return flt, used + (f" (from '{phrase}')" if phrase else "")


def describe(flt: IncidentFilter) -> str:
    """The filter in one line, as the API reports it ("understood: category=database; ...")."""
    parts = [
        f"category={flt.category.value}" if flt.category else "",
        f"status={flt.status}" if flt.status else "",
        "severity=" + ",".join(s.value for s in flt.severities) if flt.severities else "",
        f"service={flt.service}" if flt.service else "",
        f"since {flt.since.isoformat()}" if flt.since else "",
        f"until {flt.until.isoformat()}" if flt.until else "",
    ]
    return "understood: " + ("; ".join(p for p in parts if p) or "no filter (all incidents)")


# ---- Claude first, the local parser as the fallback ----------------------------------------


class QueryAnswer(Frozen):
    """What a question became, in words, and which parser answered (and why the local one)."""

    filter: IncidentFilter
    explanation: str
    parser: Literal["llm", "local"]
    fallback_reason: str = ""
    tokens: TokenUsage = Field(default_factory=TokenUsage)


class _FilterAnswer(BaseModel):
    """The tool input Claude fills in: the filter fields and nothing else (free `text` is not
    offered: a search term invented by the model would silently hide incidents)."""

    model_config = ConfigDict(extra="forbid")

    category: Category | None = None
    status: Literal["open", "triggered", "acknowledged", "resolved"] | None = None
    severities: list[Severity] = Field(default_factory=list, max_length=4)
    service: str = Field(default="", max_length=100, pattern=r"^$|^[A-Za-z0-9][A-Za-z0-9._-]*$")
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None


QUERY_TOOL = tool_spec("report_filter", _FilterAnswer, "Report the incident search filter.")


def _checked(answer: _FilterAnswer, now: datetime) -> IncidentFilter:
    """The answer as a filter, refused when its time range cannot be what was meant."""
    if answer.since and answer.since > now:
        raise LlmAnswerInvalid(f"since {answer.since.isoformat()} is after now", retryable=False)
    if answer.since and answer.until and answer.until <= answer.since:
        raise LlmAnswerInvalid("until is not after since", retryable=False)
    return IncidentFilter(**answer.model_dump())


class IncidentQueryParser:
    """Claude (when configured) turns the question into a filter; the local parser otherwise.

    Nothing is retried: a search answer now beats a better one later, and the same question
    mostly gets the same malformed answer again. Each question may spend `token_cap` tokens.
    """

    def __init__(self, client: ClaudeClient | None, token_cap: int) -> None:
        self.client, self.token_cap = client, token_cap

    async def parse(self, text: str, now: datetime) -> QueryAnswer:
        """A filter for `text` relative to the time-zone-aware `now`, saying who answered."""
        reason = "no Anthropic API key configured" if self.client is None else ""
        if not reason:
            try:
                return await self._ask_claude(text, now)
            except LlmError as exc:
                reason = f"{type(exc).__name__}: {exc.reason}"
        flt, explanation = parse_incident_query(text, now)
        return QueryAnswer(
            filter=flt, explanation=explanation, parser="local", fallback_reason=reason
        )

    async def _ask_claude(self, text: str, now: datetime) -> QueryAnswer:
        payload = {"question": text, "now": now.isoformat(), "weekday": now.strftime("%A")}
        raw, usage = await self.client.ask("query", QUERY_TOOL, payload, self.token_cap)
        flt = _checked(parse_answer(_FilterAnswer, raw), now)
        return QueryAnswer(filter=flt, explanation=describe(flt), parser="llm", tokens=usage)


def build_query_parser(
    settings: AiSettings, client: ClaudeClient | None = None
) -> IncidentQueryParser:
    """Built once at the edge: Claude when a key is set, else the local parser alone."""
    if client is None and settings.anthropic_api_key is not None:
        client = ClaudeClient(settings)
    return IncidentQueryParser(client, settings.query_token_budget)
