"""The base every domain model uses: frozen, strict about unknown fields when parsing config."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    """Immutable value object; safe to pass through workflow history."""

    model_config = ConfigDict(frozen=True)


class Strict(BaseModel):
    """Frozen and refusing unknown keys: for configuration and API input."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Severity(StrEnum):
    """Four levels; P1..P3 map as critical=P1, high=P2, medium and low=P3."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        """0 for critical up to 3 for low: lower is more urgent."""
        return _SEVERITY_ORDER.index(self)

    @property
    def priority(self) -> str:
        return {"critical": "P1", "high": "P2"}.get(self.value, "P3")

    @classmethod
    def most_urgent(cls, severities: list[Severity]) -> Severity:
        return min(severities, key=lambda s: s.rank) if severities else cls.MEDIUM


_SEVERITY_ORDER = [Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW]


class ActorKind(StrEnum):
    SYSTEM = "system"
    KEY = "key"
    USER = "user"


class Actor(Frozen):
    """Who did something: an integration key, a person, or the system itself."""

    kind: ActorKind = ActorKind.SYSTEM
    id: str = "system"
    name: str = ""

    @property
    def label(self) -> str:
        return f"{self.kind.value}:{self.name or self.id}"


SYSTEM = Actor()
