"""Settings for the LLM path and the local analyzer (env `LIM_AI__<FIELD>`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr


class ModelPrice(BaseModel):
    """USD per million tokens, as the provider's price list states them."""

    input: float
    output: float
    cache_write: float = 0.0
    cache_read: float = 0.0


def _default_prices() -> dict[str, ModelPrice]:
    # Public list prices at the time of writing; override in config when they change.
    return {
        "claude-sonnet-4-5": ModelPrice(input=3.0, output=15.0, cache_write=3.75, cache_read=0.30),
        "claude-haiku-4-5": ModelPrice(input=1.0, output=5.0, cache_write=1.25, cache_read=0.10),
        "claude-opus-4-1": ModelPrice(input=15.0, output=75.0, cache_write=18.75, cache_read=1.5),
    }


class AiSettings(BaseModel):
    anthropic_api_key: SecretStr | None = Field(
        default=None, description="Without a key the local analyzer answers everything."
    )
    anthropic_base_url: str | None = None
    model: str = "claude-sonnet-4-5"
    timeout_seconds: float = Field(default=30.0, gt=0)
    max_output_tokens: int = Field(default=2_000, gt=0)
    incident_token_budget: int = Field(
        default=60_000, ge=0, description="Tokens one incident may spend on the LLM, all calls."
    )
    query_token_budget: int = Field(
        default=4_000,
        ge=0,
        description="Tokens one natural-language incident search (`q=`) may spend on the LLM; "
        "queries belong to no incident, so each gets this fixed cap. 0 = always the local parser.",
    )
    prices: dict[str, ModelPrice] = Field(default_factory=_default_prices)
    runbooks_dir: Path | None = Field(
        default=None, description="Folder of Markdown runbooks; default: the shipped starter set."
    )
    prometheus_url: str | None = Field(
        default=None, description="Prometheus HTTP API base URL for recent alert-query values."
    )
    prometheus_timeout_seconds: float = Field(
        default=5.0, gt=0, description="Per query; a slower Prometheus becomes a note, not a wait."
    )
    prometheus_lookback_minutes: int = Field(
        default=30, gt=0, description="How far before an alert fired its query is read: the baseline."
    )
    prometheus_step_seconds: int = Field(
        default=60, gt=0, description="Resolution of the fetched series (widened for long incidents)."
    )
