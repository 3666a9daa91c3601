"""Settings for alert ingestion."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, Field


class IngestSettings(BaseModel):
    max_body_bytes: int = 1024 * 1024
    max_batch_alerts: int = 1000
    default_group_by: list[str] = ["alertname", "service", "env"]
    # A resolved incident stays open to reopening for this long (flap window).
    flap_window: timedelta = timedelta(minutes=15)
    # Outbox dispatcher: how many signal-with-starts may be in flight to Temporal at once.
    dispatch_concurrency: int = 16
    dispatch_batch: int = 500
    # New incident workflows started per second at most (0: unlimited), and how many may start
    # at once. Each start runs several activities; above what Temporal and the worker can carry,
    # starts queue in the outbox (alert→incident latency grows) instead of starving ingestion.
    new_incident_rate: float = 20.0
    new_incident_burst: int = 20
    # Where the API's group commit runs (api.alert_writer): `process` gives it a core of its
    # own; `auto` picks it for a SQLite file and a thread otherwise (PostgreSQL scales by replicas).
    writer: Literal["auto", "thread", "process"] = "auto"
    # Parser processes (api.parse_pool): parsing and routing a storm's bodies takes about as
    # much CPU as storing it, and the API's event loop has one core. 0 parses in the API process.
    parsers: int = Field(default=2, ge=0, le=64)
