"""What triage and diagnosis produce, and what they read: pure frozen models.

Both analyzers (the Claude path and the deterministic local one) answer with exactly these
models, so the workflow, the timeline and the API never care which one answered; the
`classifier` / `analyzer` field says so, and `fallback_reason` says why the local one did.

Severity and priority: critical=P1, high=P2, medium and low=P3 (`Severity.priority`).

Severity score = Σ weight × factor, each factor in [0, 1] (see `SEVERITY_WEIGHTS`):
  impact 0.35 (how badly users are hurt: down/data loss 1.0 … informational 0.1),
  urgency 0.30 (how soon it bites: the alert's own severity label, "will fill in 4h" lowers it),
  scope 0.15 (one pod … a whole cluster/region),
  business criticality 0.20 (service tier, production vs staging).
Score → severity: ≥0.80 critical, ≥0.62 high, ≥0.45 medium, else low (`severity_for_score`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import Field

from workflows.domain.base import Frozen, Severity


class Category(StrEnum):
    INFRASTRUCTURE = "infrastructure"
    APPLICATION = "application"
    NETWORK = "network"
    DATABASE = "database"
    SECURITY = "security"
    EXTERNAL_DEPENDENCY = "external_dependency"
    MODEL_QUALITY = "model_quality"  # accuracy, hallucination, toxicity
    DRIFT = "drift"  # data or model drift
    COST_QUOTA = "cost_quota"  # token spend, quotas, rate limits imposed on us
    MODEL_SERVING = "model_serving"  # inference latency and errors
    GPU_ACCELERATOR = "gpu_accelerator"
    UNKNOWN = "unknown"


AnswerSource = Literal["llm", "local"]

SEVERITY_WEIGHTS: dict[str, float] = {
    "impact": 0.35,
    "urgency": 0.30,
    "scope": 0.15,
    "business_criticality": 0.20,
}
_SCORE_THRESHOLDS = [(0.80, Severity.CRITICAL), (0.62, Severity.HIGH), (0.45, Severity.MEDIUM)]


class SeverityFactors(Frozen):
    """The four factors of the severity score, each in [0, 1]."""

    impact: float = Field(0.5, ge=0, le=1)
    urgency: float = Field(0.5, ge=0, le=1)
    scope: float = Field(0.5, ge=0, le=1)
    business_criticality: float = Field(0.5, ge=0, le=1)

    @property
    def score(self) -> float:
        """Σ weight × factor with `SEVERITY_WEIGHTS`; in [0, 1]."""
        return round(sum(w * getattr(self, name) for name, w in SEVERITY_WEIGHTS.items()), 4)


def severity_for_score(score: float) -> Severity:
    """The severity band a score falls in (thresholds in the module docstring)."""
    for threshold, severity in _SCORE_THRESHOLDS:
        if score >= threshold:
            return severity
    return Severity.LOW


class TokenUsage(Frozen):
    """Tokens an LLM answer consumed and what they cost (tokens × the settings' price table)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    cost_usd: float = 0.0

    @property
    def total(self) -> int:
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_creation_input_tokens
            + self.cache_read_input_tokens
        )

    def plus(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_creation_input_tokens=self.cache_creation_input_tokens
            + other.cache_creation_input_tokens,
            cache_read_input_tokens=self.cache_read_input_tokens + other.cache_read_input_tokens,
            cost_usd=round(self.cost_usd + other.cost_usd, 6),
        )


# ---- classification --------------------------------------------------------------------------


class ClassifyRequest(Frozen):
    """What triage reads: the incident's first alert as text and labels.

    `tokens_spent` is what the incident has already used, so the budget holds across calls.
    """

    incident_id: str = ""
    title: str
    description: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    service: str = ""
    business_criticality: float | None = Field(None, ge=0, le=1)
    tokens_spent: int = 0


class Classification(Frozen):
    category: Category
    severity: Severity
    score: float
    factors: SeverityFactors = SeverityFactors()
    service: str = ""
    confidence: float = Field(0.0, ge=0, le=1)
    classifier: AnswerSource = "local"
    reason: str = ""
    fallback_reason: str = ""
    tokens: TokenUsage = TokenUsage()

    @property
    def priority(self) -> str:
        return self.severity.priority


# ---- the evidence bundle ---------------------------------------------------------------------


class ObservedAlert(Frozen):
    """An alert as analysis needs it; `Alert` carries ids and fingerprints ad-hoc input lacks."""

    title: str
    service: str = ""
    severity: Severity = Severity.MEDIUM
    starts_at: datetime
    description: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    ref: str = ""


class LogLine(Frozen):
    time: datetime
    service: str
    level: str = "info"
    message: str


class MetricPoint(Frozen):
    time: datetime
    value: float


class MetricSeries(Frozen):
    """A metric for one service: raw points, or a summary (baseline vs current) when that is
    all the caller has. `higher_is_worse` False for things like throughput or accuracy.
    `ref` says where it came from (e.g. `prometheus:<query>`), for evidence to cite."""

    service: str
    name: str
    points: list[MetricPoint] = Field(default_factory=list)
    baseline: float | None = None
    current: float | None = None
    unit: str = ""
    higher_is_worse: bool = True
    ref: str = ""


class ChangeKind(StrEnum):
    DEPLOY = "deploy"
    CONFIG = "config"
    FEATURE_FLAG = "feature_flag"
    SCALE = "scale"
    INFRA = "infra"
    OTHER = "other"


class ChangeEvent(Frozen):
    """A deploy or configuration change (accepted at `POST /api/v1/changes`)."""

    time: datetime
    service: str
    kind: ChangeKind = ChangeKind.DEPLOY
    description: str = ""
    ref: str = ""


class PastIncident(Frozen):
    incident_id: str
    title: str
    service: str = ""
    category: Category = Category.UNKNOWN
    root_cause: str = ""
    resolved_at: datetime | None = None


class AnalysisBundle(Frozen):
    """Everything an analyzer may read (also the body of `POST /api/v1/analyze`).

    `dependencies` maps a service to the services it depends on (`depends_on`), so an edge
    points from symptom towards likely root. `now` is when the analysis looks from.
    """

    alerts: list[ObservedAlert] = Field(default_factory=list)
    logs: list[LogLine] = Field(default_factory=list)
    metrics: list[MetricSeries] = Field(default_factory=list)
    dependencies: dict[str, list[str]] = Field(default_factory=dict)
    changes: list[ChangeEvent] = Field(default_factory=list)
    past_incidents: list[PastIncident] = Field(default_factory=list)
    now: datetime | None = None


# ---- diagnosis -------------------------------------------------------------------------------


class EvidenceSource(StrEnum):
    ALERT = "alert"
    LOG = "log"
    METRIC = "metric"
    CHANGE = "change"
    RUNBOOK = "runbook"
    PAST_INCIDENT = "past_incident"


class Evidence(Frozen):
    """One cited fact: where it came from (`source` + `ref`) and what it says."""

    source: EvidenceSource
    ref: str
    detail: str


class Hypothesis(Frozen):
    """A ranked explanation. `cause == "unknown"` is a legitimate answer when evidence is weak."""

    cause: str
    service: str = ""
    category: Category = Category.UNKNOWN
    confidence: float = Field(0.0, ge=0, le=1)
    evidence: list[Evidence] = Field(default_factory=list)


class Risk(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class RemediationStep(Frozen):
    action: str
    command: str = ""
    expected_outcome: str = ""
    risk: Risk = Risk.MEDIUM


class RunbookRef(Frozen):
    runbook_id: str
    title: str
    score: float = 0.0
    path: str = ""


class DiagnoseRequest(Frozen):
    incident_id: str = ""
    title: str = ""
    service: str = ""
    bundle: AnalysisBundle = AnalysisBundle()
    tokens_spent: int = 0


class Diagnosis(Frozen):
    """2–3 ranked hypotheses, remediation drawn from runbooks where one matches."""

    hypotheses: list[Hypothesis]
    remediation: list[RemediationStep] = Field(default_factory=list)
    runbooks: list[RunbookRef] = Field(default_factory=list)
    analyzer: AnswerSource = "local"
    notes: str = ""
    fallback_reason: str = ""
    tokens: TokenUsage = TokenUsage()

    @property
    def top(self) -> Hypothesis:
        return self.hypotheses[0]


# ---- post-mortems ----------------------------------------------------------------------------


class IncidentFacts(Frozen):
    incident_id: str
    title: str
    service: str = ""
    severity: Severity = Severity.MEDIUM
    category: Category = Category.UNKNOWN
    opened_at: datetime
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    affected_services: list[str] = Field(default_factory=list)
    pages_sent: int = 0
    alert_count: int = 0


class TimelineEntry(Frozen):
    """One audit-log line as the post-mortem needs it (the timeline's `TimelineEvent`, flat)."""

    at: datetime
    kind: str
    summary: str
    actor: str = "system"


class PostmortemRequest(Frozen):
    facts: IncidentFacts
    timeline: list[TimelineEntry] = Field(default_factory=list)
    diagnosis: Diagnosis | None = None
    tokens_spent: int = 0


class PostmortemDraft(Frozen):
    incident_id: str
    markdown: str
    generator: AnswerSource = "local"
    fallback_reason: str = ""
    tokens: TokenUsage = TokenUsage()


# ---- questions about incidents ---------------------------------------------------------------


class IncidentFilter(Frozen):
    """A structured incident search; empty fields do not filter."""

    category: Category | None = None
    status: Literal["open", "triggered", "acknowledged", "resolved"] | None = None
    severities: list[Severity] = Field(default_factory=list)
    service: str = ""
    since: datetime | None = None
    until: datetime | None = None
    text: str = ""
