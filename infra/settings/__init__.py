"""One `Settings`, built once at each entrypoint and passed down.

Nothing reads the environment at import time. Variables use the `LIM_` prefix; nested groups use
`__` (for example `LIM_NOTIFY__SLACK_BOT_TOKEN`). A `.env` file in the working directory is read
too. Each area owns its group in a sibling module so that changing one never touches another.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from infra.settings.ai import AiSettings
from infra.settings.escalation import EscalationSettings
from infra.settings.ingest import IngestSettings
from infra.settings.notify import NotifySettings


class Settings(BaseSettings):
    """Everything configurable about one deployment."""

    model_config = SettingsConfigDict(
        env_prefix="LIM_", env_file=".env", env_nested_delimiter="__", extra="ignore"
    )

    data_dir: Path = Path(".lim")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default is SQLite under the data dir."
    )
    config_file: Path | None = Field(default=None, description="YAML configuration as code.")

    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_port: int = 7233
    temporal_ui_port: int = 8233
    up_background_nice: int = Field(
        default=10, ge=0, le=19, description="`lim up` runs the Temporal dev server and the worker "
        "at this nice level: on one machine a storm then queues incident work (durably, in the "
        "outbox) instead of slowing the API that must store every alert. 0: same priority.")

    api_host: str = "127.0.0.1"
    api_port: int = 8080
    public_url: str = Field(default="", description="Base URL responders' links point at.")

    command_wait_seconds: float = Field(
        default=10.0, gt=0, description="How long a command (acknowledge, resolve...) waits for "
        "a worker before it is queued durably in the incident's history and answered 202.")
    worker_metrics_address: str = Field(
        default="", description="host:port where the worker serves the Temporal SDK's "
        "Prometheus metrics at /metrics (task latencies, slots, polls); empty: off.")

    log_level: str = "INFO"
    otel_enabled: bool = False

    ingest: IngestSettings = IngestSettings()
    escalation: EscalationSettings = EscalationSettings()
    notify: NotifySettings = NotifySettings()
    ai: AiSettings = AiSettings()

    @property
    def db_url(self) -> str:
        """The database URL in use: the configured one, else SQLite in the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'lim.db').resolve()}"

    @property
    def api_base_url(self) -> str:
        return self.public_url or f"http://{self.api_host}:{self.api_port}"
