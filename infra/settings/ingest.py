"""Settings for alert ingestion."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel


class IngestSettings(BaseModel):
    max_body_bytes: int = 1024 * 1024
    max_batch_alerts: int = 1000
    default_group_by: list[str] = ["alertname", "service", "env"]
    # A resolved incident stays open to reopening for this long (flap window).
    flap_window: timedelta = timedelta(minutes=15)
    # Outbox dispatcher: how many signal-with-starts may be in flight to Temporal at once.
    dispatch_concurrency: int = 16
    dispatch_batch: int = 500
