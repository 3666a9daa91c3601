"""Delivery ledger tables: every attempt, and the one successful delivery per idempotency key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel


class DeliveryAttemptRow(SQLModel, table=True):
    """One attempt to deliver one notification through one channel, whatever the outcome.

    `result`: delivered | duplicate | failed | rejected | circuit_open | deferred.
    """

    __tablename__ = "notify_delivery_attempts"
    __table_args__ = (Index("ix_notify_attempts_key", "idempotency_key", "attempted_at"),)

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str
    incident_id: str = Field(index=True)
    channel: str
    target_kind: str
    target_address: str
    user_id: str = ""
    result: str
    provider_message_id: str = ""
    latency_ms: float = 0.0
    error: str = ""
    retryable: bool | None = None
    attempted_at: datetime


class DeliveryRow(SQLModel, table=True):
    """A delivered notification. The primary key makes "never sent twice" a database fact."""

    __tablename__ = "notify_deliveries"
    __table_args__ = (Index("ix_notify_deliveries_address", "target_address", "delivered_at"),)

    idempotency_key: str = Field(primary_key=True)
    incident_id: str
    incident_number: int = 0
    channel: str
    target_kind: str
    target_address: str
    provider_message_id: str = ""
    thread_ref: str | None = None
    delivered_at: datetime
    # Set when this key rode along in another key's message (rate-limit bundling).
    bundled_into: str | None = None


class ContactWindowRow(SQLModel, table=True):
    """When the last SMS to an address went out, shared by every worker (the rate window)."""

    __tablename__ = "notify_contact_windows"

    address: str = Field(primary_key=True)
    last_sent_at: datetime
